// The plan template's table editor (/approvals/template), with script on:
// 「添加一行」 adds a blank row in the browser and 删除 removes a row at once.
// After either, every row's field names (s{n}_…), 序号, end-step value and
// prerequisite checkboxes are renumbered, so the form posts exactly what the
// page without script would, and a new row can be chosen as a prerequisite
// (its checkbox is named after its code or name as they are typed). A refusal
// the server showed (the table's #table-error and the notes by the rows) names
// rows as 第N行: those follow their rows' new numbers, and a row removed since
// is named 第N行（已删除）. After a version conflict, what was typed beside a
// row (「您填写的：…」, #typed-s{n}_…) follows its row, and a new row starts
// without any. 「更新表格」 (and its blank-row count) is hidden,
// since rows come and go in place. Nothing else changes: the form still posts
// whole to /approvals/template/steps and the server judges it. Text goes in
// as text.
(function () {
  'use strict';

  var table = document.getElementById('step-rows');
  var add = document.getElementById('add-row');
  if (!table || !add || !table.tBodies.length) return;
  var body = table.tBodies[0];
  var maxRows = parseInt(table.getAttribute('data-max-rows'), 10) || 0;
  var ROW_NAMED = /第(\d+)行/g;

  function rows() {
    return body.querySelectorAll('tr[data-row]');
  }

  function field(row, name) {
    return row.querySelector('[name$="_' + name + '"]');
  }

  // What a prerequisite checkbox calls row i, as the server does.
  function label(row, i) {
    var code = field(row, 'code').value.trim();
    var name = field(row, 'name').value.trim();
    if (code) return (i + 1) + '. ' + code;
    if (name) return (i + 1) + '. ' + name;
    return '第' + (i + 1) + '行';
  }

  // The note row under a row (its refusal), if there is one.
  function note(row) {
    var next = row.nextElementSibling;
    return next && !next.hasAttribute('data-row') ? next : null;
  }

  // Points names, ids and labels of `node` and everything in it at row `to`.
  function retarget(node, to) {
    var nodes = [node].concat(Array.prototype.slice.call(node.querySelectorAll('*')));
    nodes.forEach(function (el) {
      var name = el.getAttribute('name');
      if (name && /^s\d+_/.test(name)) el.setAttribute('name', name.replace(/^s\d+_/, 's' + to + '_'));
      ['id', 'aria-describedby'].forEach(function (attr) {
        var value = el.getAttribute(attr);
        if (value && /^s\d+-error$/.test(value)) el.setAttribute(attr, 's' + to + '-error');
      });
      var id = el.getAttribute('id');
      if (id && /^typed-s\d+_/.test(id)) el.setAttribute('id', id.replace(/^typed-s\d+_/, 'typed-s' + to + '_'));
      var aria = el.getAttribute('aria-label');
      if (aria) el.setAttribute('aria-label', aria.replace(/第\d+行/, '第' + (to + 1) + '行'));
      if (el.tagName === 'LEGEND' && el.children.length === 0) {
        el.textContent = el.textContent.replace(/^第\d+行/, '第' + (to + 1) + '行');
      }
    });
  }

  // The refusals as the server wrote them, about the rows as it numbered them (data-origin).
  var refusals = [];
  var tableError = document.getElementById('table-error');
  [tableError].concat(Array.prototype.slice.call(body.querySelectorAll('.field-error'))).forEach(function (el) {
    if (el && el.children.length === 0) refusals.push({ el: el, text: el.textContent });
  });
  rows().forEach(function (row) {
    row.setAttribute('data-origin', row.getAttribute('data-row'));
  });

  // Rewrites each refusal's 第N行 to the row's number now (by where the server's row N is).
  function renameRows(list) {
    var now = {};
    list.forEach(function (row, i) {
      if (row.hasAttribute('data-origin')) now[row.getAttribute('data-origin')] = i;
    });
    refusals.forEach(function (r) {
      r.el.textContent = r.text.replace(ROW_NAMED, function (whole, n) {
        var at = now[String(Number(n) - 1)];
        return at === undefined ? whole + '（已删除）' : '第' + (at + 1) + '行';
      });
    });
  }

  // Renumbers every row after one was added or removed (or a code or name typed).
  function renumber() {
    var list = Array.prototype.slice.call(rows());
    var place = {};
    list.forEach(function (row, i) {
      place[row.getAttribute('data-row')] = i;
    });
    list.forEach(function (row, i) {
      var was = row.getAttribute('data-row');
      var waitsFor = {};
      row.querySelectorAll('fieldset.prerequisites input').forEach(function (box) {
        if (box.checked && place.hasOwnProperty(box.value)) waitsFor[place[box.value]] = true;
      });
      retarget(row, i);
      var below = note(row);
      if (below) retarget(below, i);
      row.setAttribute('data-row', String(i));
      row.id = 'row-' + (i + 1);
      var order = field(row, 'order');
      if (order.value.trim() === '' || order.value.trim() === String(Number(was) + 1)) order.value = String(i + 1);
      row.querySelector('input[name="end"]').value = String(i);
      var set = row.querySelector('fieldset.prerequisites');
      set.querySelectorAll('label').forEach(function (old) {
        set.removeChild(old);
      });
      list.forEach(function (other, j) {
        if (j === i) return;
        var box = document.createElement('input');
        box.type = 'checkbox';
        box.name = 's' + i + '_pre';
        box.value = String(j);
        box.checked = !!waitsFor[j];
        var item = document.createElement('label');
        item.className = 'mono';
        item.appendChild(box);
        item.appendChild(document.createTextNode(' ' + label(other, j)));
        set.appendChild(item);
      });
    });
    renameRows(list);
    add.disabled = maxRows > 0 && list.length >= maxRows;
  }

  // With script, 删除 is a button that removes the row (a row already marked keeps its checkbox).
  function enhance(row) {
    var box = field(row, 'delete');
    var button = row.querySelector('.remove-row');
    if (!box || !button || box.checked) return;
    box.hidden = true;
    button.hidden = false;
  }

  // A blank row like the last one: nothing typed, nothing chosen, no refusal, nothing typed beside it.
  function blankRow() {
    var list = rows();
    var row = list[list.length - 1].cloneNode(true);
    row.classList.remove('row-invalid');
    row.setAttribute('data-row', 'new');
    row.removeAttribute('data-origin');
    row.querySelectorAll('.field-error, .typed').forEach(function (p) {
      p.parentNode.removeChild(p);
    });
    row.querySelectorAll('[aria-invalid]').forEach(function (el) {
      el.removeAttribute('aria-invalid');
      el.removeAttribute('aria-describedby');
    });
    row.querySelectorAll('input').forEach(function (input) {
      if (input.type === 'checkbox' || input.type === 'radio') {
        input.checked = false;
        input.removeAttribute('checked');
      } else {
        input.value = '';
        input.removeAttribute('value');
      }
    });
    row.querySelectorAll('select').forEach(function (select) {
      select.querySelectorAll('option[data-unknown]').forEach(function (o) {
        select.removeChild(o);
      });
      Array.prototype.forEach.call(select.options, function (o) {
        o.selected = false;
        o.removeAttribute('selected');
      });
      select.selectedIndex = 0;
    });
    return row;
  }

  add.addEventListener('click', function () {
    var list = rows();
    if (!list.length || (maxRows > 0 && list.length >= maxRows)) return;
    var last = list[list.length - 1];
    var row = blankRow();
    var after = note(last) || last;
    body.insertBefore(row, after.nextSibling);
    enhance(row);
    renumber();
    field(row, 'code').focus();
  });

  body.addEventListener('click', function (event) {
    var button = event.target.closest('.remove-row');
    if (!button) return;
    var row = button.closest('tr[data-row]');
    var below = note(row);
    if (below) body.removeChild(below);
    body.removeChild(row);
    renumber();
    add.focus();
  });

  // A prerequisite checkbox reads as the code or name typed in its row.
  body.addEventListener('input', function (event) {
    var name = event.target.getAttribute('name') || '';
    if (/^s\d+_(code|name)$/.test(name)) renumber();
  });

  rows().forEach(enhance);
  add.hidden = false;
  // Rows are added and removed in place: 「更新表格」, its count of blank rows and its hint are for the page
  // without script.
  ['do-update-rows', 'add-rows', 'update-rows-hint'].forEach(function (id) {
    var el = document.getElementById(id);
    if (el) el.hidden = true;
  });
  var count = document.querySelector('label[for="add-rows"]');
  if (count) count.hidden = true;
  renumber();
})();
