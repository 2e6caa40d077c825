// The progress page: follows /track/{no}/events (server-sent events) and
// redraws the state, the timeline and the rating form in place on every
// `progress` event, without reloading. Text goes in as text, never as HTML.
(function () {
  'use strict';

  var root = document.getElementById('progress');
  var status = document.getElementById('live-status');
  if (!root || !status) return;
  if (!window.EventSource) {
    status.textContent = '您的浏览器不支持实时更新，请刷新页面查看最新进度';
    return;
  }

  function short(time) {
    return time ? time.slice(0, 16).replace('T', ' ') : '';
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = text;
    return node;
  }

  function setText(id, text) {
    var node = document.getElementById(id);
    if (node) node.textContent = text;
  }

  var CAPTIONS = { received: '答复期限', extension_approved: '新的答复期限' };

  function stepItem(step) {
    var li = el('li');
    li.setAttribute('data-kind', step.kind);
    li.appendChild(el('time', null, short(step.at)));
    var what = el('div', 'what');
    what.appendChild(el('strong', null, step.label));
    if (step.unit) {
      var to = step.kind === 'dispatched' || step.kind === 'redispatched' ? '→ ' : '';
      what.appendChild(document.createTextNode(' '));
      what.appendChild(el('span', 'unit', to + step.unit));
    }
    if (step.comment) what.appendChild(el('p', 'comment', step.comment));
    if (CAPTIONS[step.kind] && step.due_at) {
      what.appendChild(el('p', 'deadline', CAPTIONS[step.kind] + '：' + short(step.due_at)));
    }
    li.appendChild(what);
    return li;
  }

  function fillTimeline(id, steps) {
    var list = document.getElementById(id);
    if (!list) return;
    while (list.firstChild) list.removeChild(list.firstChild);
    for (var i = 0; i < steps.length; i++) list.appendChild(stepItem(steps[i]));
  }

  function render(view) {
    var state = document.getElementById('state-label');
    if (state) {
      state.textContent = view.state_label;
      state.className = 'state state-' + view.state;
    }
    setText('lead-unit', view.lead_unit || '待派单');
    setText('due-at', short(view.due_at) + (view.due_at && view.due_provisional ? '（暂定）' : ''));
    fillTimeline('timeline', view.timeline || []);
    var merged = document.getElementById('merged');
    if (merged) {
      merged.hidden = !view.merged_into;
      if (view.merged_into) {
        setText('merged-no', view.merged_into.tracking_no);
        fillTimeline('parent-timeline', view.merged_into.timeline || []);
      }
    }
    var rated = document.getElementById('rated');
    if (rated) {
      rated.hidden = !view.rating_label;
      setText('rating-label', view.rating_label || '');
      setText('resolved-label', view.resolved === true ? '问题已解决' : view.resolved === false ? '问题未解决' : '');
    }
    var rate = document.getElementById('rate');
    if (rate) rate.hidden = !view.can_rate;
    var reopen = document.getElementById('reopen');
    if (reopen) {
      reopen.hidden = !view.can_request_reopen && !view.reopen_requested_at;
      var reopenForm = document.getElementById('reopen-form');
      if (reopenForm) reopenForm.hidden = !view.can_request_reopen;
      var waiting = document.getElementById('reopen-waiting');
      if (waiting) waiting.hidden = !view.reopen_requested_at;
      if (view.reopen_requested_at) setText('reopen-requested-at', short(view.reopen_requested_at));
    }
    var materials = document.getElementById('materials');
    if (materials) materials.hidden = !view.can_add_materials;
  }

  var source = new EventSource(root.getAttribute('data-events'));
  source.addEventListener('open', function () {
    status.textContent = '实时更新中';
    status.className = 'live on';
  });
  source.addEventListener('progress', function (event) {
    var view;
    try {
      view = JSON.parse(event.data);
    } catch (e) {
      return;
    }
    render(view);
    root.setAttribute('data-version', event.lastEventId);
    status.textContent = '实时更新中 · 最近更新 ' + new Date().toLocaleTimeString('zh-CN', { hour12: false });
    status.className = 'live on';
  });
  source.addEventListener('error', function () {
    status.textContent = source.readyState === EventSource.CLOSED
      ? '实时更新已断开，请刷新页面'
      : '连接中断，正在重新连接…';
    status.className = 'live off';
  });
})();
