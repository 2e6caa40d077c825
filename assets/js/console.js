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
