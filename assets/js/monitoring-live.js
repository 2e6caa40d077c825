// 在线监测 live pages (/monitoring, /monitoring/alerts, a park's /parks/{code}): follows
// /monitoring/events (server-sent events) and, on every `state` event,
// redraws the points' status and the open alerts without reloading. Text
// goes in as text. On a park's page (tables marked data-scope="park") the
// counts and the alerts are those of the park's points only.
(function () {
  'use strict';

  var status = document.getElementById('live-status');
  var points = document.getElementById('monitoring-points');
  var alerts = document.getElementById('open-alerts');
  if (!status || (!points && !alerts)) return;

  function short(time) {
    return time ? time.slice(0, 16).replace('T', ' ') : '无数据';
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  var parkOnly = points && points.getAttribute('data-scope') === 'park';

  function shownPoint(code) {
    return !parkOnly || !!points.querySelector('tr[data-code="' + CSS.escape(code) + '"]');
  }

  function drawPoints(list) {
    var counts = { exceeding: 0, offline: 0 };
    list.forEach(function (p) {
      var row = points.querySelector('tr[data-code="' + CSS.escape(p.code) + '"]');
      if (parkOnly && !row) return;
      if (counts[p.status] !== undefined) counts[p.status] += 1;
      if (!row) return;
      var badge = row.querySelector('.monitor-status');
      badge.className = 'monitor-status monitor-' + p.status;
      badge.textContent = p.status_label;
      row.querySelector('.alert-count').textContent = p.open_alerts > 0 ? ' ' + p.open_alerts + '条报警' : '';
      row.querySelector('.last-reading').textContent = short(p.last_reading_at);
    });
    document.getElementById('count-exceeding').textContent = counts.exceeding;
    document.getElementById('count-offline').textContent = counts.offline;
  }

  function dismissForm(alert) {
    var form = el('form', 'inline');
    form.method = 'post';
    form.action = '/monitoring/alerts/' + alert.id + '/dismiss';
    var label = el('label', null, '理由 ');
    var input = el('input');
    input.name = 'reason';
    input.required = true;
    input.maxLength = 500;
    input.placeholder = '如：现场核实为设备故障';
    label.appendChild(input);
    var button = el('button', 'secondary', '排除');
    button.type = 'submit';
    form.appendChild(label);
    form.appendChild(button);
    return form;
  }

  function caseForm(alert) {
    var form = el('form', 'inline');
    form.method = 'post';
    form.action = '/enforcement/cases';
    var input = el('input');
    input.type = 'hidden';
    input.name = 'alert';
    input.value = alert.id;
    var button = el('button', null, '立案');
    button.type = 'submit';
    form.appendChild(input);
    form.appendChild(button);
    return form;
  }

  function drawAlerts(list) {
    var handle = alerts.getAttribute('data-handle') === 'true';
    var openCase = alerts.getAttribute('data-open-case') === 'true';
    var body = alerts.querySelector('tbody');
    // Keep a reason being typed: leave the rows alone while a form has focus.
    if (body.contains(document.activeElement)) return;
    body.textContent = '';
    list.forEach(function (a) {
      var row = el('tr');
      row.appendChild(el('td', null, short(a.data_time)));
      var point = el('td');
      var link = el('a', null, a.point_name);
      link.href = '/monitoring/' + encodeURIComponent(a.point_code);
      point.appendChild(link);
      row.appendChild(point);
      row.appendChild(el('td', null, a.unit ? a.unit.name : ''));
      row.appendChild(el('td', null, a.description));
      if (handle || openCase) {
        var cell = el('td');
        if (handle) cell.appendChild(dismissForm(a));
        if (openCase) cell.appendChild(caseForm(a));
        row.appendChild(cell);
      }
      body.appendChild(row);
    });
    document.getElementById('alert-count').textContent = list.length;
    alerts.hidden = list.length === 0;
    document.getElementById('no-alerts').hidden = list.length !== 0;
  }

  var source = new EventSource('/monitoring/events');
  source.addEventListener('state', function (e) {
    var state = JSON.parse(e.data);
    if (points) drawPoints(state.points);
    if (alerts) drawAlerts(state.alerts.filter(function (a) { return shownPoint(a.point_code); }));
    status.textContent = '实时更新中 · ' + new Date().toLocaleTimeString('zh-CN');
  });
  source.onerror = function () {
    status.textContent = '实时连接中断，正在重连…';
  };
})();
