// The operator console: as the operator types a credit code (18 characters)
// or a phone number (7 digits or more), the enterprise's or caller's earlier
// requests are fetched through GET /api/v1/requests with the operator's own
// session and shown beside the form (text only, never HTML).
(function () {
  'use strict';
  var box = document.getElementById('history');
  var code = document.getElementById('credit_code');
  var phone = document.getElementById('phone');
  if (!box || !code || !phone) return;
  var timer = null;
  var asked = '';

  function section(heading, answer) {
    var frag = document.createDocumentFragment();
    var h = document.createElement('h3');
    h.textContent = heading;
    frag.appendChild(h);
    if (answer.error) {
      var p = document.createElement('p');
      p.className = 'notice error';
      p.textContent = answer.error;
      frag.appendChild(p);
      return frag;
    }
    if (!answer.items.length) {
      var none = document.createElement('p');
      none.className = 'empty';
      none.textContent = '没有往来诉求。';
      frag.appendChild(none);
      return frag;
    }
    var ul = document.createElement('ul');
    ul.className = 'earlier';
    answer.items.forEach(function (r) {
      var li = document.createElement('li');
      var a = document.createElement('a');
      a.href = '/work/' + encodeURIComponent(r.tracking_no);
      a.className = 'mono';
      a.textContent = r.tracking_no;
      var tag = document.createElement('span');
      tag.className = 'tag';
      tag.textContent = r.state_label;
      var when = document.createElement('small');
      when.textContent = String(r.received_at || '').slice(0, 16).replace('T', ' ');
      li.append(a, ' ', tag, ' ', r.title || '', ' ', when);
      ul.appendChild(li);
    });
    frag.appendChild(ul);
    return frag;
  }

  function fetchList(key, value) {
    var url = '/api/v1/requests?limit=10&' + key + '=' + encodeURIComponent(value);
    return fetch(url, { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (res) {
        return res.json().then(function (body) {
          return res.ok ? { items: body.items || [] } : { error: body.message || '查询失败', items: [] };
        });
      })
      .catch(function () {
        return { error: '查询失败，请稍后再试', items: [] };
      });
  }

  function lookup() {
    var c = code.value.trim().toUpperCase();
    var p = phone.value.replace(/[\s-]/g, '');
    var asks = [];
    if (c.length === 18) asks.push(['该企业的往来诉求', 'credit_code', c]);
    if (/^\d{7,}$/.test(p)) asks.push(['该来电号码的往来诉求', 'phone', p]);
    var key = JSON.stringify(asks);
    if (key === asked) return;
    asked = key;
    if (!asks.length) return;
    Promise.all(asks.map(function (a) { return fetchList(a[1], a[2]); })).then(function (answers) {
      if (asked !== key) return;
      box.textContent = '';
      answers.forEach(function (answer, i) { box.appendChild(section(asks[i][0], answer)); });
    });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(lookup, 300);
  }
  code.addEventListener('input', later);
  phone.addEventListener('input', later);
  // Typing a credit code means an enterprise is calling.
  code.addEventListener('change', function () {
    if (code.value.trim()) {
      var e = document.querySelector('input[name="asker_type"][value="enterprise"]');
      if (e) e.checked = true;
    }
  });
})();

// Standard answers (知识库): as the operator types the caller's question
// (标题, 内容), matching standard answers are fetched through
// GET /api/v1/knowledge?q= and listed beside the form (text only). Picking
// one shows its text and records its id in the hidden field `article`, so
// after 受理 the console fills the direct close (直接办结) with it.
(function () {
  'use strict';
  var box = document.getElementById('suggestions');
  var title = document.getElementById('title');
  var content = document.getElementById('content');
  var picked = document.getElementById('article');
  if (!box || !title || !content || !picked) return;
  var timer = null;
  var asked = '';

  function hint(text) {
    var p = document.createElement('p');
    p.className = 'hint';
    p.textContent = text;
    return p;
  }

  function show(articles) {
    box.textContent = '';
    if (!articles.length) {
      box.appendChild(hint('没有匹配的标准答复。'));
      return;
    }
    var ul = document.createElement('ul');
    ul.className = 'suggestions';
    var preview = document.createElement('p');
    preview.className = 'preview';
    preview.hidden = true;
    articles.forEach(function (a) {
      var li = document.createElement('li');
      var b = document.createElement('button');
      b.type = 'button';
      b.className = 'suggestion';
      b.textContent = a.title;
      b.setAttribute('aria-pressed', String(picked.value === String(a.id)));
      b.addEventListener('click', function () {
        var on = picked.value !== String(a.id);
        picked.value = on ? String(a.id) : '';
        ul.querySelectorAll('button').forEach(function (x) { x.setAttribute('aria-pressed', 'false'); });
        b.setAttribute('aria-pressed', String(on));
        preview.hidden = !on;
        preview.textContent = on ? a.body + '\n' + a.citation : '';
      });
      li.appendChild(b);
      ul.appendChild(li);
    });
    box.append(ul, preview);
  }

  function search() {
    var q = (title.value + ' ' + content.value).trim().slice(0, 200);
    if (q === asked) return;
    asked = q;
    if (q.length < 2) return;
    fetch('/api/v1/knowledge?q=' + encodeURIComponent(q), { credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (res) { return res.ok ? res.json() : []; })
      .then(function (articles) { if (asked === q) show(articles); })
      .catch(function () { box.textContent = ''; box.appendChild(hint('标准答复查询失败，请稍后再试。')); });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(search, 300);
  }
  title.addEventListener('input', later);
  content.addEventListener('input', later);
})();

// Category suggestions (分类建议): as the operator types the title and
// content, POST /api/v1/dispatch/draft (the operator's session) answers the
// categories the words point to — the catalogue's keywords and the history's
// model — and the units likely to lead the chosen (or first) category. A
// suggestion is a button that selects its category; nothing is chosen for the
// operator. Text only, never HTML.
(function () {
  'use strict';
  var box = document.getElementById('category-suggestions');
  var title = document.getElementById('title');
  var content = document.getElementById('content');
  var category = document.getElementById('category');
  var town = document.getElementById('town');
  if (!box || !title || !content || !category) return;
  var timer = null;
  var asked = '';

  function field(name) {
    var checked = document.querySelector('input[name="' + name + '"]:checked');
    if (checked) return checked.value;
    var el = document.getElementById(name);
    return el ? el.value : '';
  }

  function line(className, text) {
    var p = document.createElement('p');
    p.className = className;
    p.textContent = text;
    return p;
  }

  function show(answer) {
    box.textContent = '';
    if (answer.error) {
      box.appendChild(line('notice error', answer.error));
      return;
    }
    if (!answer.categories.length) {
      box.appendChild(line('empty', '派单目录关键词和历史诉求都没有指向某个分类。'));
    } else {
      var ul = document.createElement('ul');
      ul.className = 'suggestions';
      answer.categories.forEach(function (c) {
        var li = document.createElement('li');
        var pick = document.createElement('button');
        pick.type = 'button';
        pick.className = 'link';
        pick.dataset.category = c.category;
        pick.textContent = c.category_name;
        if (category.value === c.category) pick.setAttribute('aria-pressed', 'true');
        pick.addEventListener('click', function () {
          category.value = c.category;
          category.dispatchEvent(new Event('change'));
        });
        var conf = document.createElement('span');
        conf.className = 'confidence';
        conf.textContent = '置信度 ' + Math.round(c.confidence * 100) + '%';
        li.append(pick, ' ', conf);
        c.reasons.forEach(function (r) {
          li.appendChild(document.createElement('br'));
          var small = document.createElement('small');
          small.textContent = r;
          li.appendChild(small);
        });
        ul.appendChild(li);
      });
      box.appendChild(ul);
    }
    if (answer.units.length) {
      var names = answer.units.map(function (u) {
        return u.unit_name + '（' + Math.round(u.confidence * 100) + '%）';
      });
      box.appendChild(line('hint', '可能的主办单位：' + names.join('、')));
    }
  }

  function suggest() {
    var body = {
      title: title.value,
      content: content.value,
      category: category.value || null,
      town: town && town.value ? town.value : null,
      kind: field('kind') || null,
      channel: field('channel') || null
    };
    if (!body.title.trim() && !body.content.trim()) return;
    var key = JSON.stringify(body);
    if (key === asked) return;
    asked = key;
    fetch('/api/v1/dispatch/draft', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: key
    })
      .then(function (res) {
        return res.json().then(function (answer) {
          return res.ok ? answer : { error: answer.message || '建议暂不可用' };
        });
      })
      .catch(function () {
        return { error: '建议暂不可用，请稍后再试' };
      })
      .then(function (answer) {
        if (asked === key) show(answer);
      });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(suggest, 400);
  }
  title.addEventListener('input', later);
  content.addEventListener('input', later);
  category.addEventListener('change', later);
  if (town) town.addEventListener('change', later);
})();
