// The water command centre's story (issue 14) in a real browser (Debian's Chromium driven by
// playwright-core), clicked through the pages by the centre's office (市水务局) and 古镇镇's handler:
//
//   1. the office sets a target on outlets for 古镇镇 and one city-wide, and assigns the towns a task;
//   2. 古镇镇 reports on its task and imports its outlet ledger from an Excel file (preview, confirm);
//   3. a resident's complaint about one outlet is taken in at the console, linked to the outlet, and
//      answered by 古镇镇 on the request's page (reached from the outlet) and closed;
//   4. 古镇镇 fills in the outlet's monitoring, tracing and remediation fields on the item page and
//      moves it 排查 → 监测 → 溯源 → 整治, then saves its 整治完成日期 with the acceptance photo chosen
//      in the same edit form (one submit: the value and the file in one history entry);
//   5. the office declares the task done; the dashboard's target progress and the town ranking moved.
//
//   node e2e/water.mjs http://127.0.0.1:8080
//
// The office is the demo city's `water-office` (a handler of 市水务局, the centre's office unit); the dispatcher's
// dispatch and close go through the API too (the portal story clicks those). Screenshots go to
// target/screenshots/ (water-*). Any console error, page error or failed request fails it.

import { act, apiSession, base, check, log, newPage, postJson, run, shot, signIn } from './harness.mjs';
import { workbook } from './xlsx.mjs';

const OUTLETS = [1, 2, 3].map((n) => `HE000001442000GY000${n}`);
const LINKED = OUTLETS[0];

/// 古镇镇's outlet ledger as it keeps it: three industrial outlets on 岐江河, surveyed.
function outletWorkbook() {
  const header = ['排污口编码', '排污口名称', '排污口类型', '受纳水体代码', '受纳水体名称', '所在镇街', '所在位置', '排查日期'];
  const rows = OUTLETS.map((code, i) =>
    [code, `岐江河古镇镇${i + 1}号排口`, '工业排污口', 'HE000001', '岐江河', '古镇镇', `古镇镇同兴路${i + 1}号旁`, '2026-03-01']);
  return workbook('入河排污口', [header, ...rows]);
}

/// Today in Shanghai, `YYYY-MM-DD`.
function today() {
  return new Date(Date.now() + 8 * 3600000).toISOString().slice(0, 10);
}

/// The row of the town ranking for a town: [rank, town, targets, tasks, ledger, score] as texts.
async function rankingRow(page, town) {
  const cells = await page.locator('#ranking-table tbody tr', { hasText: town }).first().locator('td').allTextContents();
  return cells.map((c) => c.trim());
}

async function targetFigure(page, name) {
  return (await page.locator('#target-table tbody tr', { hasText: name }).locator('.figure').textContent()).trim();
}

const CITY_TARGET = '全市入河排污口进入整治';
const TOWN_TARGET = '古镇镇入河排污口进入整治';
const TASK = '古镇镇入河排污口排查建档';

/// 1. Targets and tasks, set on the centre's dashboard.
async function officeSetsTargetsAndTasks(office) {
  await signIn(office, 'water-office');
  await Promise.all([office.waitForURL(`${base}/command`), office.click('nav >> text=指挥部')]);
  await Promise.all([office.waitForURL(`${base}/command/water`), office.click('text=水污染治理指挥部')]);
  const due = `${new Date().getFullYear() + 1}-12-31`;
  for (const [name, town, goal] of [[CITY_TARGET, '', '4'], [TOWN_TARGET, 'guzhen', '2']]) {
    await office.fill('#t-name', name);
    await office.check('#target-form input[value="outlet:remediate"]');
    await office.check('#target-form input[value="outlet:closed"]');
    await office.selectOption('#t-town', town);
    await office.fill('#t-goal', goal);
    await office.fill('#t-due', due);
    await act(office, '#target-form button[type=submit]');
  }
  check(await targetFigure(office, TOWN_TARGET) === '0 / 2（0%）', `the town's target starts at 0: ${await targetFigure(office, TOWN_TARGET)}`);
  for (const [title, unit] of [[TASK, 'guzhen'], ['小榄镇入河排污口排查建档', 'xiaolan']]) {
    await office.fill('#k-title', title);
    await office.fill('#k-desc', '按入河排污口命名与编码规则排查建档，导入台账。');
    await office.selectOption('#k-unit', unit);
    await office.fill('#k-days', '5');
    await act(office, '#task-form button[type=submit]');
    check(/\/command\/tasks\/\d+$/.test(office.url()), `the new task's page: ${office.url()}`);
    await office.goto(`${base}/command/water`);
  }
  check(await office.locator('#task-table tbody tr').count() === 2, 'two tasks listed');
  const before = await rankingRow(office, '古镇镇');
  const others = await rankingRow(office, '小榄镇');
  // 古镇镇 has a target at 0 % and ranks; 小榄镇 has nothing to measure yet: unranked (未计), not tied at 0.
  check(before[0] === '1' && before[5] === '0.0', `古镇镇 ranks with its target at 0 %: ${before}`);
  check(others[0] === '—' && others[5] === '未计', `小榄镇 has nothing to measure: ${others}`);
  await shot(office, 'water-dashboard-before');
  log(`the office set two targets and assigned two tasks; 古镇镇 ranks ${before[0]} with ${before[5]}`);
  return before;
}

/// 2. The town reports on its task and imports its outlets.
async function townImportsOutlets(town) {
  await signIn(town, 'town-handler');
  await town.goto(`${base}/command/water`);
  check(await town.locator('#task-table tbody tr').count() === 1, 'the town sees its own task only');
  check(await town.locator('#target-form').count() === 0, "the office's forms are not the town's");
  await Promise.all([town.waitForURL(/\/command\/tasks\/\d+$/), town.click(`#task-table a:text("${TASK}")`)]);
  await act(town, '#report-form button[type=submit]', { selector: '#report-note', text: '已排查建档 3 个入河排污口，台账已导入。' });
  log('the town reported on its task');

  await Promise.all([town.waitForURL(`${base}/ledgers`), town.click('nav >> text=台账')]);
  await Promise.all([town.waitForURL(`${base}/ledgers/outlet`), town.click('main a[href="/ledgers/outlet"]')]);
  await Promise.all([town.waitForURL(`${base}/ledgers/outlet/import`), town.click('a[href="/ledgers/outlet/import"]')]);
  await town.setInputFiles('#file', {
    name: '古镇镇入河排污口台账.xlsx',
    mimeType: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
    buffer: outletWorkbook(),
  });
  await act(town, 'form button:text("预检")');
  const preview = await town.locator('#report-heading + p').textContent();
  check(preview.includes('新增 3 条') && preview.includes('错误 0 处'), `the preview: ${preview}`);
  await shot(town, 'water-import-preview');
  await act(town, 'button:text("确认导入")');
  check((await town.locator('#report-heading').textContent()).includes('导入完成'), 'the import is applied');
  await Promise.all([town.waitForURL(`${base}/ledgers/outlet`), town.click('a:text("查看台账")')]);
  for (const code of OUTLETS) await town.locator(`a:text("${code}")`).waitFor();
  log('the town imported three outlets from Excel');
}

/// 3. A complaint about the first outlet, linked to it at the console, answered by the town, closed.
async function linkedComplaint(browser, town) {
  const operator = await newPage(browser, 'operator', { viewport: { width: 1280, height: 900 } });
  await signIn(operator, 'operator');
  await operator.goto(`${base}/console`);
  await operator.selectOption('#kind', 'complaint');
  await operator.fill('#phone', '13912345678');
  await operator.fill('#contact_name', '梁先生');
  await operator.selectOption('#category', 'env.wastewater');
  await operator.selectOption('#town', 'guzhen');
  await operator.fill('#address', '古镇镇同兴路1号旁');
  await operator.fill('#ledger_ref', `outlet:${LINKED}`);
  await operator.fill('#title', '同兴路排污口排出黑水有异味');
  await operator.fill('#content', '同兴路旁的排污口每天傍晚排出黑色污水，岐江河边气味很大，请查处。');
  await act(operator, '#do-intake');
  const no = (await operator.locator('#done-no').textContent()).trim();
  await operator.context().close();
  const dispatcher = await apiSession('dispatcher');
  await postJson(`/api/v1/requests/${no}/dispatch`, dispatcher, { lead_unit: 'guzhen' });
  log(`the operator took in ${no} linked to outlet ${LINKED}; dispatched to 古镇镇`);

  await town.goto(`${base}/ledgers/outlet/items/${LINKED}`);
  await Promise.all([town.waitForURL(`${base}/work/${no}`), town.click(`a:text("${no}")`)]);
  check((await town.locator('#ledger-link').textContent()).trim() === `outlet:${LINKED}`, 'the request names its outlet');
  await act(town, '#do-sign');
  await act(town, '#do-reply', { selector: '#reply-content', text: '经溯源，系同兴路一家电镀厂雨污管混接，已责令整改并纳入排污口整治。' });
  await postJson(`/api/v1/requests/${no}/close`, dispatcher, {});
  await Promise.all([town.waitForURL(`${base}/ledgers/outlet/items/${LINKED}`), town.click('#ledger-link')]);
  const linked = town.locator('tr', { hasText: no });
  check((await linked.textContent()).includes('已办结'), `the outlet lists the closed request: ${await linked.textContent()}`);
  log('the town answered the complaint from the outlet; it is closed and listed on the outlet');
  return no;
}

/// Saves the item page's edit form with these fields (code → value; a select by its option value)
/// and files (file field code → { name, mimeType, buffer }), in one submit.
async function edit(town, fields, files = {}) {
  for (const [code, value] of Object.entries(fields)) {
    const input = town.locator(`#f-${code}`);
    if ((await input.evaluate((e) => e.tagName)) === 'SELECT') await input.selectOption(value);
    else await input.fill(value);
  }
  for (const [code, file] of Object.entries(files)) await town.setInputFiles(`#file-${code}`, file);
  await act(town, '#do-edit');
}

/// A PNG's signature and header chunk: what the platform checks a photo by.
const PHOTO = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52]);

async function move(town, to, note) {
  await act(town, `form:has(input[name=to][value=${to}]) button`, { selector: `#note-${to}`, text: note });
}

/// 4. The outlet through its stages on the item page.
async function townMovesTheOutlet(town) {
  await town.goto(`${base}/ledgers/outlet/items/${LINKED}`);
  const day = today();
  await edit(town, { monitored_on: day, cod_mg_l: '86', nh3n_mg_l: '5.2' });
  await move(town, 'monitor', '已采样监测');
  await edit(town, { source: '同兴路电镀厂雨污管混接', traced_on: day });
  await move(town, 'trace', '已溯源');
  await edit(town, { remediation: 'regulate', responsible_unit: 'guzhen', remediation_deadline: `${new Date().getFullYear() + 1}-06-30` });
  await move(town, 'remediate', '纳入规范整治');
  const stage = (await town.locator('dl.facts dd strong').first().textContent()).trim();
  check(stage === '整治', `the outlet is in 整治: ${stage}`);
  // The remediation's end date and the acceptance photo, saved by one submit of the edit form.
  await edit(town, { remediated_on: day }, { acceptance_file: { name: '整治后照片.png', mimeType: 'image/png', buffer: PHOTO } });
  const files = await town.locator('#files tbody').textContent();
  check(files.includes('整治后照片.png'), `the outlet's file field names the photo: ${files}`);
  const history = await town.locator('#history tbody').textContent();
  for (const step of ['排查 → 监测', '监测 → 溯源', '溯源 → 整治', '溯源结果', '《整治后照片.png》', '上传附件《整治后照片.png》']) {
    check(history.includes(step), `the history shows ${step}`);
  }
  const last = await town.locator('#history tbody tr').last().textContent();
  check(last.includes('整治完成日期') && last.includes('整治后照片.png'), `one entry holds the date and the photo: ${last}`);
  await shot(town, 'water-outlet');
  log('the town moved the outlet 排查 → 监测 → 溯源 → 整治 and saved its end date with the acceptance photo in one submit');
}

/// 5. The task declared done; the target and the ranking have moved.
async function officeSeesProgress(office, before) {
  await office.goto(`${base}/command/water`);
  await Promise.all([office.waitForURL(/\/command\/tasks\/\d+$/), office.click(`#task-table a:text("${TASK}")`)]);
  await act(office, '#done-form button[type=submit]', { selector: '#done-note', text: '排查建档完成' });
  await office.goto(`${base}/command/water`);
  const town = await targetFigure(office, TOWN_TARGET);
  const city = await targetFigure(office, CITY_TARGET);
  check(town === '1 / 2（50%）' && city === '1 / 4（25%）', `targets: ${town}, ${city}`);
  const after = await rankingRow(office, '古镇镇');
  const others = await rankingRow(office, '小榄镇');
  check(after[0] === '1', `古镇镇 ranks first: ${after}`);
  // 小榄镇's task is neither done nor overdue, and it has no target or outlet: nothing to measure yet.
  check(others[0] === '—' && others[5] === '未计', `小榄镇 is not ranked (未计), not tied at 0: ${others}`);
  check(Number(after[5]) > Number(before[5]), `古镇镇's score rose: ${before[5]} → ${after[5]}`);
  check(after[3].startsWith('100.0'), `its task was done on time: ${after[3]}`);
  await shot(office, 'water-dashboard-after');
  log(`the dashboard: 古镇镇 target ${town}, city ${city}; 古镇镇 ranks ${after[0]} with ${after[5]} (was ${before[5]})`);
}

async function story(browser) {
  const office = await newPage(browser, 'water office', { viewport: { width: 1280, height: 900 } });
  const before = await officeSetsTargetsAndTasks(office);
  const town = await newPage(browser, 'town handler', { viewport: { width: 1280, height: 900 } });
  await townImportsOutlets(town);
  await linkedComplaint(browser, town);
  await townMovesTheOutlet(town);
  await officeSeesProgress(office, before);
}

run('water', story);
