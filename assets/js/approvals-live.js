// The groundbreaking wall (/approvals/live): follows /approvals/live/events
// (server-sent events) and redraws a project's steps and counters on every
// `project` event, without reloading; the clocks tick every second from the
// transaction until the permit, on the server's time. Text goes in as text.
(function () {
  'use strict';

  var wall = document.getElementById('live-wall');
  var status = document.getElementById('live-status');
  if (!wall || !status) return;
  var ids = wall.getAttribute('data-projects') || '';
  // Server time minus this browser's time, from the last view received.
  var skew = 0;

  function label(seconds) {
    if (seconds < 0) seconds = 0;
    var m = Math.floor(seconds / 60);
    var s = seconds % 60;
    if (s === 0) return m + '分钟';
    if (m === 0) return s + '秒';
    return m + '分' + s + '秒';
  }

  function short(time) {
    return time ? time.slice(0, 19).replace('T', ' ') : '';
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function tick() {
    var cards = wall.querySelectorAll('.live-project');
    for (var i = 0; i < cards.length; i++) {
      var card = cards[i];
      var clock = card.querySelector('.clock');
      var from = card.getAttribute('data-transaction');
      if (!clock || !from) continue;
      var until = card.getAttribute('data-permit');
      var end = until ? Date.parse(until) : Date.now() + skew;
      var seconds = Math.floor((end - Date.parse(from)) / 1000);
      clock.textContent = label(seconds) + (until ? '' : '（计时中）');
      card.classList.toggle('permitted', !!until);
    }
  }

  function render(view) {
    var id = view.id;
    var card = document.getElementById('project-' + id);
    if (!card) return;
    skew = Date.parse(view.now) - Date.now();
    card.setAttribute('data-transaction', view.transaction_at || '');
    card.setAttribute('data-permit', view.permit_at || '');
    var count = document.getElementById('issued-' + id);
    if (count) count.textContent = view.issued + '/' + view.steps.length;
    var list = document.getElementById('steps-' + id);
    if (!list) return;
    while (list.firstChild) list.removeChild(list.firstChild);
    for (var i = 0; i < view.steps.length; i++) {
      var step = view.steps[i];
      var li = el('li', 'live-step step-' + step.status);
      li.setAttribute('data-step', step.code);
      li.appendChild(el('span', 'step-name', step.name));
      li.appendChild(document.createTextNode(' '));
      li.appendChild(el('span', 'step-owner', step.owner.name));
      li.appendChild(document.createTextNode(' '));
      li.appendChild(el('time', null, short(step.issued_at)));
      list.appendChild(li);
    }
    if (!view.transaction_at) {
      var clock = document.getElementById('clock-' + id);
      if (clock) clock.textContent = '未成交';
    }
    tick();
  }

  setInterval(tick, 1000);
  if (!window.EventSource) {
    status.textContent = '您的浏览器不支持实时更新，请刷新页面';
    status.className = 'live off';
    return;
  }
  var source = new EventSource('/approvals/live/events?projects=' + encodeURIComponent(ids));
  source.addEventListener('open', function () {
    status.textContent = '实时更新中';
    status.className = 'live on';
  });
  source.addEventListener('error', function () {
    status.textContent = '连接中断，正在重连…';
    status.className = 'live off';
  });
  source.addEventListener('project', function (e) {
    try {
      render(JSON.parse(e.data));
    } catch (err) {
      // A malformed event is skipped; the next one redraws.
    }
  });
  tick();
})();
