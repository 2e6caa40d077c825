// The leader dashboard: draws each chart with ECharts (vendored) from the
// JSON in #dashboard-data, and opens the request list behind a bar or point
// on click. The tables under the charts hold the same numbers and links, so
// nothing depends on this script.
(function () {
  'use strict';

  var source = document.getElementById('dashboard-data');
  if (!source || !window.echarts) return;
  var charts = JSON.parse(source.textContent || '[]');
  var drawn = [];

  var RECEIVED = '#b71c1c';
  var CLOSED = '#1565c0';

  function option(chart, rows) {
    var names = rows.map(function (r) { return r.name; });
    var horizontal = chart.shape === 'hbar';
    var category = { type: 'category', data: names, axisLabel: { color: '#333', interval: horizontal ? 0 : 'auto' } };
    var value = { type: 'value', minInterval: 1, axisLabel: { color: '#333' } };
    if (horizontal) category.inverse = true;
    return {
      aria: { enabled: true },
      animation: false,
      color: [RECEIVED, CLOSED],
      tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' }, renderMode: 'richText' },
      legend: { data: ['受理量', '办结量'], top: 0 },
      grid: { left: 8, right: 24, top: 32, bottom: 8, containLabel: true },
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? category : value,
      series: [
        { name: '受理量', type: 'bar', data: rows.map(function (r) { return r.received; }), cursor: 'pointer' },
        { name: '办结量', type: 'bar', data: rows.map(function (r) { return r.closed; }), cursor: 'pointer' }
      ]
    };
  }

  function draw(chart) {
    var el = document.getElementById('chart-' + chart.id);
    if (!el) return;
    var rows = chart.rows.filter(function (r) { return r.drawn; });
    if (chart.shape === 'hbar') el.style.height = Math.max(180, rows.length * 34 + 60) + 'px';
    var instance = window.echarts.init(el, null, { renderer: 'canvas' });
    instance.setOption(option(chart, rows));
    instance.on('click', function (params) {
      var row = rows[params.dataIndex];
      if (!row) return;
      window.location.href = params.seriesIndex === 1 ? row.closed_url : row.received_url;
    });
    el.setAttribute('data-rendered', 'true');
    drawn.push(instance);
  }

  charts.forEach(draw);

  var pending = null;
  window.addEventListener('resize', function () {
    if (pending) window.clearTimeout(pending);
    pending = window.setTimeout(function () {
      drawn.forEach(function (c) { c.resize(); });
    }, 150);
  });
}());
