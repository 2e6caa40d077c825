// 数说 in a real browser (Debian's Chromium driven by playwright-core): the
// bundled figures are uploaded as a data file through the API, a city leader
// opens /statistics, every card reads as the report, each chart is an SVG
// drawn by the server (no script), another period is picked with the
// selector, a card and the whole panel (「导出图片」) are saved as PNG images
// (the panel's pixels decoded and checked), the print styles hide the
// navigation; an administrator corrects a
// value with the entry form and sees the new sentence.
//
//   node e2e/statistics.mjs http://127.0.0.1:8080
//
// Screenshots go to target/screenshots/ (statistics, statistics-print,
// statistics-corrected). Any console error (a CSP violation included), page
// error or failed request fails it.

import { readFileSync } from 'node:fs';
import { inflateSync } from 'node:zlib';
import { base, check, log, newPage, password, run, shot, signIn } from './harness.mjs';

const REPORT = [
  '前三季度，全市地区生产总值为2527.54亿元，同比增长11.5%，两年平均增长5.1%。',
  '前三季度，全市第一产业增加值为59.44亿元，同比增长25.6%，两年平均增长14.1%。',
  '前三季度，全市第二产业增加值为1283.78亿元，同比增长14.7%，两年平均增长5.7%。',
  '前三季度，全市规模以上工业增加值为1014.28亿元，同比增长15.9%，两年平均增长6.1%。',
  '前三季度，全市固定资产投资同比增长19.4%，两年平均增长21.9%。',
  '前三季度，全市工业投资同比增长40.2%，两年平均增长49.4%，占固定资产投资的比重为21.2%。',
  '前三季度，全市居民人均可支配收入为44889元，同比增长11.9%，扣除价格因素实际增长10.9%。',
];

/// The RGBA pixels of an 8-bit RGBA, non-interlaced PNG (what a canvas saves).
function pngPixels(png) {
  const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
  check(png[24] === 8 && png[25] === 6 && png[28] === 0, `8-bit RGBA PNG, got depth ${png[24]} type ${png[25]}`);
  const chunks = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.subarray(at + 4, at + 8).toString('latin1');
    if (type === 'IDAT') chunks.push(png.subarray(at + 8, at + 8 + length));
    at += 12 + length;
  }
  const raw = inflateSync(Buffer.concat(chunks));
  const stride = width * 4;
  const pixels = Buffer.alloc(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= 4 ? pixels[y * stride + x - 4] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const c = x >= 4 && y > 0 ? pixels[(y - 1) * stride + x - 4] : 0;
      const p = a + b - c;
      const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
      const paeth = pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][filter];
      check(predictor !== undefined, `PNG filter ${filter}`);
      pixels[y * stride + x] = (line[x] + predictor) & 0xff;
    }
  }
  return { width, height, at: (x, y) => [...pixels.subarray((y * width + x) * 4, (y * width + x) * 4 + 4)] };
}

async function uploadDemo() {
  const login = await fetch(`${base}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'admin', password }),
  });
  const cookie = (login.headers.get('set-cookie') || '').split(';')[0];
  const toml = readFileSync(new URL('../crates/domain/data/statistics_demo.toml', import.meta.url));
  const form = new FormData();
  form.append('file', new Blob([toml]), 'statistics_demo.toml');
  const res = await fetch(`${base}/api/v1/statistics/data-file`, { method: 'POST', headers: { cookie }, body: form });
  const report = await res.json();
  check(res.ok && report.new === 23, `data file: HTTP ${res.status} ${JSON.stringify(report)}`);
  log('uploaded the bundled figures as a data file (23 values)');
}

run('statistics', async (browser) => {
  await uploadDemo();
  const leader = await newPage(browser, 'leader');
  await signIn(leader, 'leader');
  await leader.goto(`${base}/statistics`);
  const cards = leader.locator('#stats-cards .stats-card');
  check((await cards.count()) === 8, `8 cards, got ${await cards.count()}`);
  const text = await leader.locator('#stats-cards').innerText();
  for (const sentence of REPORT) check(text.includes(sentence), `the panel lacks ${sentence}`);
  check((await leader.locator('#stats-cards svg.stats-chart').count()) === 8, 'a chart on every card');
  check((await leader.locator('#card-gdp svg rect').count()) === 3, 'three years of GDP');
  check((await leader.locator('#entry-heading').count()) === 0, 'no entry form for a leader');
  await shot(leader, 'statistics');
  log('the leader reads the report on the cards');

  // A card as a PNG image, drawn in the browser from the server's SVG.
  const [download] = await Promise.all([
    leader.waitForEvent('download'),
    leader.click('#card-gdp button:has-text("下载为图片（PNG）")'),
  ]);
  check(download.suggestedFilename() === '数说-2021-Q3-gdp.png', `PNG name: ${download.suggestedFilename()}`);
  const png = readFileSync(await download.path());
  check(png.subarray(1, 4).toString() === 'PNG', 'a PNG file');
  const [width, height] = [png.readUInt32BE(16), png.readUInt32BE(20)];
  check(width === 800 && height > 400, `drawn at twice the card's size: ${width}×${height}`);
  log(`the GDP card saved as a PNG image (${width}×${height})`);

  // The whole panel as one PNG: 「导出图片」 draws the server's panel SVG (every card) on a canvas.
  check(await leader.locator('#panel-image[href="/statistics/panel.svg?period=2021-Q3"]').isVisible(), 'the SVG link');
  const [panelDownload] = await Promise.all([leader.waitForEvent('download'), leader.click('#panel-png')]);
  check(panelDownload.suggestedFilename() === '数说-2021-Q3.png', `panel PNG name: ${panelDownload.suggestedFilename()}`);
  const panel = pngPixels(readFileSync(await panelDownload.path()));
  // Two cards a row: 20 + 2 × (400 + 20) = 860 wide, drawn at twice the size; four rows of cards.
  check(panel.width === 1720 && panel.height > 2 * (56 + 4 * 300), `panel PNG ${panel.width}×${panel.height}`);
  const opaque = panel.at(2, 2)[3] === 255;
  check(opaque, `the background is painted: ${panel.at(2, 2)}`);
  // Each card's brand bar (#b3261e) along its top, for the first card at (20, 56) × 2.
  const bar = panel.at(2 * 20 + 10, 2 * 56 + 4);
  check(Math.abs(bar[0] - 0xb3) < 8 && Math.abs(bar[1] - 0x26) < 8 && Math.abs(bar[2] - 0x1e) < 8, `the first card's bar: ${bar}`);
  const second = panel.at(2 * 440 + 10, 2 * 56 + 4);
  check(Math.abs(second[0] - 0xb3) < 8 && second[1] < 0x40, `the second card's bar: ${second}`);
  let dark = 0;
  for (let y = 0; y < panel.height; y += 3) for (let x = 0; x < panel.width; x += 3) if (panel.at(x, y)[0] < 100) dark++;
  check(dark > 1000, `text and bars drawn on the panel (${dark} dark samples)`);
  log(`the whole panel saved as a PNG image (${panel.width}×${panel.height}, ${dark} dark samples)`);

  await leader.emulateMedia({ media: 'print' });
  check(!(await leader.locator('header.site').isVisible()), 'the header is not printed');
  check(!(await leader.locator('.stats-period').isVisible()), 'the period selector is not printed');
  check(await leader.locator('#card-gdp').isVisible(), 'the cards are printed');
  await shot(leader, 'statistics-print');
  await leader.emulateMedia({ media: 'screen' });
  log('printed without navigation');

  await leader.selectOption('#period', '2020-Q3');
  await Promise.all([leader.waitForURL(/period=2020-Q3/), leader.click('.stats-period button')]);
  check((await leader.locator('#card-gdp').innerText()).includes('2266.85'), '2020 GDP shown');
  log('another period picked with the selector');

  const admin = await newPage(browser, 'admin');
  await signIn(admin, 'admin');
  await admin.goto(`${base}/statistics`);
  await admin.selectOption('#indicator', 'gdp_primary');
  await admin.fill('#entry-period', '2021年前三季度');
  await admin.fill('#value', '59.45');
  await admin.fill('#note', '统计局修订');
  await Promise.all([admin.waitForURL(/period=2021-Q3/), admin.click('#entry-heading ~ form button')]);
  const corrected = await admin.locator('#card-gdp_primary').innerText();
  check(corrected.includes('第一产业增加值为59.45亿元'), `corrected card: ${corrected}`);
  await shot(admin, 'statistics-corrected');
  log('the administrator corrected a value with the form');
});
