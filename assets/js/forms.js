// Every page: a form whose text would be larger than the server takes
// (FORM_LIMIT, read from the page's <meta name="form-limit">) is not sent.
// The server could only refuse such a body unread, and the text typed would
// be lost with the page; here it stays, with the reason beside the form.
(function () {
  'use strict';

  var meta = document.querySelector('meta[name="form-limit"]');
  var limit = meta ? parseInt(meta.getAttribute('content'), 10) : 0;
  if (!limit || !window.FormData || !window.URLSearchParams) return;

  // The body's size as the browser sends it (application/x-www-form-urlencoded).
  function encodedSize(form, submitter) {
    var data = new FormData(form);
    if (submitter && submitter.name) data.append(submitter.name, submitter.value);
    var params = new URLSearchParams();
    data.forEach(function (value, name) {
      if (typeof value === 'string') params.append(name, value);
    });
    return params.toString().length;
  }

  function say(form, text) {
    var note = form.querySelector('.form-too-large');
    if (!note) {
      note = document.createElement('p');
      note.className = 'notice error form-too-large';
      note.setAttribute('role', 'alert');
      form.insertBefore(note, form.firstChild);
    }
    note.textContent = text;
    note.scrollIntoView({ block: 'nearest' });
  }

  document.addEventListener('submit', function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || (form.method || '').toLowerCase() !== 'post') return;
    if ((form.enctype || '').toLowerCase() === 'multipart/form-data') return;
    var size = encodedSize(form, event.submitter);
    if (size <= limit) return;
    event.preventDefault();
    var kb = function (n) { return Math.ceil(n / 1024); };
    say(form, '填写的内容过长（约 ' + kb(size) + ' KB，页面最多可提交 ' + kb(limit) +
      ' KB），未提交。您填写的内容仍在页面上，请删减后再提交。');
  });
})();
