// The direct line's live lists (直通车批示件, the office's queue): follows the
// table's data-events stream (server-sent events) and, on every `rows` event,
// puts the rows in the order it names, replacing those it sends (rendered by
// the server with the page's own row template and masking) and dropping those
// it no longer lists, without reloading. The browser reconnects on its own;
// the last event's id tells the server what the page already has.
(function () {
  'use strict';

  var table = document.querySelector('table.live-list[data-events]');
  var status = document.getElementById('live-status');
  if (!table || !status) return;
  var body = table.tBodies[0];
  var empty = document.getElementById('items-empty');
  if (!window.EventSource) {
    status.textContent = '您的浏览器不支持实时更新，请刷新页面查看最新进度';
    status.className = 'live off';
    return;
  }

  function row(html) {
    var holder = document.createElement('tbody');
    holder.innerHTML = html;
    return holder.firstElementChild;
  }

  function apply(patch) {
    var present = {};
    var rows = body.querySelectorAll('tr[data-item]');
    for (var i = 0; i < rows.length; i++) present[rows[i].getAttribute('data-item')] = rows[i];
    var order = patch.order || [];
    var fresh = patch.rows || {};
    var kept = {};
    for (var j = 0; j < order.length; j++) {
      var id = String(order[j]);
      var tr = fresh[id] !== undefined ? row(fresh[id]) : present[id];
      if (!tr) continue;
      if (fresh[id] !== undefined) tr.classList.add('changed');
      body.appendChild(tr);
      kept[id] = true;
    }
    for (var old in present) {
      if (!kept[old] || fresh[old] !== undefined) {
        if (present[old].parentNode) present[old].parentNode.removeChild(present[old]);
      }
    }
    table.hidden = order.length === 0;
    if (empty) empty.hidden = order.length !== 0;
  }

  var source = new EventSource(table.getAttribute('data-events'));
  source.addEventListener('open', function () {
    status.textContent = '实时更新中';
    status.className = 'live on';
  });
  source.addEventListener('error', function () {
    status.textContent = '连接中断，正在重连…';
    status.className = 'live off';
  });
  source.addEventListener('rows', function (e) {
    try {
      apply(JSON.parse(e.data));
    } catch (err) {
      // A malformed event is skipped; the next one redraws.
    }
  });
})();
