// 数说: each card's "下载为图片" offers a PNG beside the SVG the server draws,
// and the panel's 「导出图片」 the whole panel (every card) as one PNG.
// The SVG is fetched (same origin), drawn on a canvas at twice its size and
// saved as PNG under the SVG's name. Without script only the SVG links show;
// a failure says so beside the link and never leaves a broken file.
(function () {
  'use strict';

  function pngName(svgUrl) {
    var file = decodeURIComponent(svgUrl.split('?')[0].split('/').pop() || 'card.svg');
    var period = (svgUrl.split('period=')[1] || '').split('&')[0];
    return '数说-' + decodeURIComponent(period) + '-' + file.replace(/\.svg$/, '') + '.png';
  }

  function draw(svgText, scale) {
    return new Promise(function (resolve, reject) {
      var image = new Image();
      image.onload = function () {
        var canvas = document.createElement('canvas');
        canvas.width = Math.round(image.naturalWidth * scale);
        canvas.height = Math.round(image.naturalHeight * scale);
        var context = canvas.getContext('2d');
        context.scale(scale, scale);
        context.drawImage(image, 0, 0);
        canvas.toBlob(function (blob) {
          if (blob) resolve(blob); else reject(new Error('empty'));
        }, 'image/png');
      };
      image.onerror = function () { reject(new Error('image')); };
      // A data: URL: the page's policy lets images come from the origin and data: only.
      image.src = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(svgText);
    });
  }

  function save(blob, name) {
    var link = document.createElement('a');
    link.href = URL.createObjectURL(blob);
    link.download = name;
    document.body.appendChild(link);
    link.click();
    link.remove();
    setTimeout(function () { URL.revokeObjectURL(link.href); }, 10000);
  }

  function offerPng(svgLink, label, className, name) {
    var button = document.createElement('button');
    button.type = 'button';
    button.className = className;
    button.textContent = label;
    var status = document.createElement('span');
    status.setAttribute('role', 'status');
    button.addEventListener('click', function () {
      button.disabled = true;
      status.textContent = '';
      fetch(svgLink.href, { credentials: 'same-origin' })
        .then(function (res) {
          if (!res.ok) throw new Error('HTTP ' + res.status);
          return res.text();
        })
        .then(function (svg) { return draw(svg, 2); })
        .then(function (blob) { save(blob, name); })
        .catch(function () { status.textContent = '图片生成失败，请改用 SVG 或稍后再试'; })
        .then(function () { button.disabled = false; });
    });
    return [button, status];
  }

  var links = document.querySelectorAll('a[data-card-svg]');
  for (var i = 0; i < links.length; i++) {
    var name = pngName(links[i].getAttribute('href'));
    var parts = offerPng(links[i], '下载为图片（PNG）', 'link', name);
    links[i].parentNode.append(' · ', parts[0], ' ', parts[1]);
  }

  var panel = document.querySelector('a[data-panel-svg]');
  if (panel) {
    var made = offerPng(panel, '导出图片', 'button secondary', panel.getAttribute('data-png'));
    made[0].id = 'panel-png';
    panel.before(made[0]);
    panel.after(made[1]);
  }
})();
