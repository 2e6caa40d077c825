// The header's unread count (消息): follows /inbox/events (server-sent
// events) and shows each `count` it receives; hidden at zero. The browser
// reconnects on its own after a dropped stream.
(function () {
  'use strict';

  var badge = document.getElementById('inbox-count');
  if (!badge || !window.EventSource) return;
  var source = new EventSource(badge.getAttribute('data-live'));
  source.addEventListener('count', function (event) {
    var n = parseInt(event.data, 10);
    if (isNaN(n) || n <= 0) {
      badge.textContent = '';
      badge.hidden = true;
      badge.removeAttribute('data-count');
      return;
    }
    badge.textContent = n > 99 ? '99+' : String(n);
    badge.setAttribute('data-count', String(n));
    badge.hidden = false;
  });
})();
