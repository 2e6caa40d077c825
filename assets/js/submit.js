// The portal's submission form: shows the enterprise fields only for
// enterprises, and checks the unified social credit code (统一社会信用代码,
// GB 32100-2015) as it is typed. The server checks it again.
(function () {
  'use strict';

  var ALPHABET = '0123456789ABCDEFGHJKLMNPQRTUWXY';
  var WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28];

  // '' when valid, otherwise a message.
  function creditCodeProblem(code) {
    if (code.length === 0) return '请填写统一社会信用代码';
    for (var i = 0; i < code.length; i++) {
      if (ALPHABET.indexOf(code.charAt(i)) < 0) {
        return '第 ' + (i + 1) + ' 位「' + code.charAt(i) + '」不是信用代码可用的字符（不含 I、O、Z、S、V）';
      }
    }
    if (code.length < 18) return '还差 ' + (18 - code.length) + ' 位（共 18 位）';
    if (code.length > 18) return '信用代码应为 18 位';
    var sum = 0;
    for (var j = 0; j < 17; j++) sum += ALPHABET.indexOf(code.charAt(j)) * WEIGHTS[j];
    var check = ALPHABET.charAt((31 - (sum % 31)) % 31);
    if (code.charAt(17) !== check) return '校验位不符，请核对（按前 17 位，最后一位应为 ' + check + '）';
    return '';
  }

  function setupCreditCode() {
    var input = document.getElementById('credit_code');
    var out = document.getElementById('credit_code-check');
    if (!input || !out) return;
    function update(final) {
      var code = input.value.trim().toUpperCase();
      if (input.value !== code && document.activeElement !== input) input.value = code;
      var problem = creditCodeProblem(code);
      var incomplete = code.length < 18 && !final && problem.indexOf('还差') === 0;
      if (code.length === 0 && !final) {
        out.textContent = '';
        out.className = 'check';
        input.removeAttribute('aria-invalid');
      } else if (problem === '') {
        out.textContent = '✓ 信用代码校验通过';
        out.className = 'check ok';
        input.removeAttribute('aria-invalid');
      } else {
        out.textContent = problem;
        out.className = incomplete ? 'check' : 'check bad';
        if (incomplete) input.removeAttribute('aria-invalid'); else input.setAttribute('aria-invalid', 'true');
      }
    }
    input.addEventListener('input', function () { update(false); });
    input.addEventListener('blur', function () { if (input.value !== '') update(true); });
    if (input.value !== '') update(true);
  }

  function setupAskerType() {
    var fields = document.getElementById('enterprise-fields');
    var radios = document.querySelectorAll('input[name="asker_type"]');
    if (!fields) return;
    function update() {
      var checked = document.querySelector('input[name="asker_type"]:checked');
      fields.hidden = !checked || checked.value !== 'enterprise';
    }
    for (var i = 0; i < radios.length; i++) radios[i].addEventListener('change', update);
    update();
  }

  // Category suggestions (分类建议): as the title and content are typed,
  // POST /api/v1/public/category-suggestions answers the categories the words
  // point to; each is a button that fills in the form's 分类. Nothing is
  // chosen for the asker, and a failure only hides the box. Text only.
  function setupCategorySuggestions() {
    var box = document.getElementById('category-suggestions');
    var title = document.getElementById('title');
    var content = document.getElementById('content');
    var category = document.getElementById('category');
    var town = document.getElementById('town');
    var kind = document.getElementById('kind');
    if (!box || !title || !content || !category || !window.fetch) return;
    var timer = null;
    var asked = '';

    function show(categories) {
      box.textContent = '';
      box.hidden = !categories.length;
      if (!categories.length) return;
      box.appendChild(document.createTextNode('按您的描述，可能的分类：'));
      categories.forEach(function (c) {
        var pick = document.createElement('button');
        pick.type = 'button';
        pick.className = 'link';
        pick.dataset.category = c.category;
        pick.textContent = c.category_name;
        if (category.value === c.category) pick.setAttribute('aria-pressed', 'true');
        pick.addEventListener('click', function () {
          category.value = c.category;
          category.removeAttribute('aria-invalid');
          show(categories);
        });
        box.append(pick, ' ');
      });
    }

    function suggest() {
      var body = {
        title: title.value,
        content: content.value,
        town: town && town.value ? town.value : null,
        kind: kind && kind.value ? kind.value : null
      };
      if (!body.title.trim() && !body.content.trim()) return show([]);
      var key = JSON.stringify(body);
      if (key === asked) return;
      asked = key;
      fetch('/api/v1/public/category-suggestions', {
        method: 'POST',
        credentials: 'same-origin',
        headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
        body: key
      })
        .then(function (res) { return res.ok ? res.json() : { categories: [] }; })
        .catch(function () { return { categories: [] }; })
        .then(function (answer) { if (asked === key) show(answer.categories || []); });
    }

    function later() {
      clearTimeout(timer);
      timer = setTimeout(suggest, 500);
    }
    title.addEventListener('input', later);
    content.addEventListener('input', later);
    if (town) town.addEventListener('change', later);
    category.addEventListener('change', function () { asked = ''; later(); });
  }

  setupAskerType();
  setupCreditCode();
  setupCategorySuggestions();
})();
