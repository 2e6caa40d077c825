// 拿地即开工 (issue 16, docs/approvals.md) in a real browser (Debian's Chromium driven by playwright-core),
// through the pages only, as the people who do it:
//
//   1. the investment desk (`dispatcher`, approvals.manage) edits the plan template in the table editor with its
//      script on: adds rows with 「添加一行」, removes one with 删除, fills in a 水土保持方案审批 step of 市水务局 and
//      makes the construction permit wait for it; saved without a name it is refused beside the field with
//      everything typed kept; a blank row above removed, the refusal names the row's new number; named, it is
//      saved as version 2 (「更新表格」 stays hidden with script: rows come and go in place);
//   1b. a second session of the desk saves version 3 while the first has the table open; the first's save
//      answers 409 with the table in force and 「您填写的：…」 beside the row; with script on that page a new row
//      starts with nothing beside it and the note follows its row when a row above is removed; retyped on the
//      table in force, it saves version 4;
//   2. the desk creates a project; the city leader opens its live wall (/approvals/live?projects=<id>);
//   3. the desk records the land transaction; each owning department, signed in as its own handler, starts and
//      issues its steps with a document number on the project page; the wall turns each step green without a
//      reload, and its clock stops at the construction permit;
//   4. the record table (纪录榜) on /approvals lists the project with its time.
//
//   node e2e/approvals.mjs http://127.0.0.1:8080
//
// The departments' handlers are created through the admin API (the demo seed has 市水务局's `water-office` only).
// Screenshots go to target/screenshots/ (approvals-*). Any console error, page error or failed request fails it
// but the one refusal the story provokes and checks on its page.

import { act, apiSession, base, check, expectRefusal, log, newPage, password, postJson, run, shot, signIn } from './harness.mjs';

const PROJECT = '古镇镇灯饰智能制造产业园项目';
const NEW_STEP = { code: 'soil_water_conservation', name: '水土保持方案审批', document: '水土保持方案审批准予行政许可决定书', owner: 'swuj' };
const PERMIT = 'construction_permit';

/// Each department's handler, its document numbers' prefix and the steps it issues, in an order the prerequisites allow.
const DEPARTMENTS = [
  ['ggzy-clerk', 'zwfw-ggzy', '中公资交', ['deal_confirmation']],
  ['fgj-clerk', 'fgj', '中发改备', ['project_filing']],
  ['spk-clerk', 'zjj-spk', '中住建审', ['drawing_review']],
  ['water-office', 'swuj', '中水保', [NEW_STEP.code]],
  ['zrzyj-clerk', 'zrzyj', '中自然资', ['transfer_contract', 'land_use_planning_permit', 'construction_planning_permit']],
  ['zaz-clerk', 'zjj-zaz', '中质安监', ['quality_safety_supervision']],
  ['sws-clerk', 'sws', '中税契', ['land_payment_tax']],
  ['djzx-clerk', 'zrzyj-djzx', '中不动产', ['property_certificate']],
  ['spk-clerk', 'zjj-spk', '中住建施', [PERMIT]],
];

/// The index of the table row holding step `code` (its fields are named s{index}_…).
async function rowOf(page, code) {
  return page.locator('#step-rows tr[data-row]').evaluateAll(
    (rows, code) => rows.findIndex((r) => r.querySelector('input[name$="_code"]').value === code), code);
}

/// 1. The template edited in the table with the script: a refused row, then version 2.
async function deskEditsTheTemplate(desk) {
  await signIn(desk, 'dispatcher');
  await Promise.all([desk.waitForURL(`${base}/approvals`), desk.click('nav >> text=拿地即开工')]);
  await Promise.all([desk.waitForURL(`${base}/approvals/template`), desk.click('#template-link')]);
  const rows = desk.locator('#step-rows tr[data-row]');
  const before = await rows.count();
  check(before === 12, `ten steps and two blank rows: ${before}`);
  check(await desk.locator('#add-row').isVisible(), 'the script shows 「添加一行」');
  check(!(await desk.locator('input[name="s0_delete"]').isVisible()), 'the script turns 删除 into a button');
  check(!(await desk.locator('#do-update-rows').isVisible()), 'the script hides 「更新表格」');
  check(!(await desk.locator('#add-rows').isVisible()) && !(await desk.locator('#update-rows-hint').isVisible()),
    'and its count of blank rows and its hint');

  // Two rows added in the browser, the first of them removed at once: the other takes its place and numbers.
  await desk.click('#add-row');
  await desk.click('#add-row');
  check(await rows.count() === before + 2, 'two rows added without a round trip');
  await desk.locator(`input[name="s${before}_code"]`).fill('to_be_removed');
  await desk.click(`#row-${before + 1} .remove-row`);
  check(await rows.count() === before + 1, 'the row is removed at once');
  check(await desk.locator(`input[name="s${before + 1}_code"]`).count() === 0, 'the rows are renumbered');
  check(await desk.locator(`input[name="s${before}_code"]`).inputValue() === '', 'the remaining new row is blank');
  check(await desk.locator(`#row-${before + 1} input[name="s${before}_order"]`).inputValue() === String(before + 1),
    'its 序号 follows its place');
  check(!(await desk.locator('#step-rows').textContent()).includes('to_be_removed'), 'no prerequisite names the removed row');

  // The new step, typed in the new row; the permit waits for it, chosen by the code as typed.
  const n = before;
  await desk.fill(`input[name="s${n}_code"]`, NEW_STEP.code);
  await desk.fill(`input[name="s${n}_document"]`, NEW_STEP.document);
  await desk.selectOption(`select[name="s${n}_owner"]`, NEW_STEP.owner);
  await desk.fill(`input[name="s${n}_minutes"]`, '2');
  await desk.check(`input[name="s${n}_pre_review"]`);
  const permit = await rowOf(desk, PERMIT);
  const waits = desk.locator(`label:has(input[name="s${permit}_pre"][value="${n}"])`);
  check((await waits.textContent()).trim() === `${n + 1}. ${NEW_STEP.code}`, `the permit may wait for the new row: ${await waits.textContent()}`);
  await waits.locator('input').check();
  await shot(desk, 'approvals-template-added');

  // Saved without a name: refused beside the name, everything typed kept, nothing saved.
  expectRefusal(422, '/approvals/template/steps');
  await Promise.all([desk.waitForEvent('framenavigated'), desk.click('#do-save-steps')]);
  await desk.waitForLoadState();
  const beside = (await desk.locator(`#s${n}-error`).textContent()).trim();
  check(beside === `步骤“${NEW_STEP.code}”的名称不能为空`, `the refusal beside the name: ${beside}`);
  check(await desk.locator(`input[name="s${n}_name"]`).getAttribute('aria-invalid') === 'true', 'the name is marked');
  check((await desk.locator('#table-error').textContent()).includes(`第${n + 1}行`), 'the summary names the row');
  check(await desk.locator(`input[name="s${n}_code"]`).inputValue() === NEW_STEP.code, 'the code is kept');
  check(await desk.locator(`select[name="s${n}_owner"]`).inputValue() === NEW_STEP.owner, 'the owner is kept');
  check(await desk.locator(`input[name="s${n}_pre_review"]`).isChecked(), 'the pre-review is kept');
  check(await desk.locator(`input[name="s${permit}_pre"][value="${n}"]`).isChecked(), 'the permit still waits for it');
  check((await desk.locator('#shown-version').textContent()).includes('第1版'), 'nothing saved');
  check(!(await desk.locator('#do-update-rows').isVisible()), '「更新表格」 stays hidden on the refused page');
  await shot(desk, 'approvals-template-refused');
  log('the table editor added and removed rows in the browser; a row without a name was refused beside the field');

  // A blank row above removed: the refused row is row n now, and the refusals say so.
  check(await desk.locator(`input[name="s${n - 1}_code"]`).inputValue() === '', 'a blank row above it');
  await desk.click(`#row-${n} .remove-row`);
  const m = n - 1;
  check(await desk.locator(`input[name="s${m}_code"]`).inputValue() === NEW_STEP.code, 'the refused row moved up');
  const summary = (await desk.locator('#table-error').textContent()).trim();
  check(summary.startsWith(`第${m + 1}行：`) && !summary.includes(`第${n + 1}行`), `the summary names its new number: ${summary}`);
  check((await desk.locator(`#s${m}-error`).textContent()).trim() === beside, 'the refusal beside it follows it');
  check(await desk.locator(`input[name="s${m}_name"]`).getAttribute('aria-describedby') === `s${m}-error`,
    'and its name field still points at it');
  check(await desk.locator(`#s${n}-error`).count() === 0, 'no refusal is left at the old number');
  check(await desk.locator(`input[name="s${permit}_pre"][value="${m}"]`).isChecked(), 'the permit (above) still waits for it');
  await shot(desk, 'approvals-template-renumbered');
  log('a row above removed: the refusal names the row by its new number');

  await desk.fill(`input[name="s${m}_name"]`, NEW_STEP.name);
  await act(desk, '#do-save-steps');
  check(desk.url() === `${base}/approvals/template`, `back on the template: ${desk.url()}`);
  const shown = await desk.locator('#shown-version').textContent();
  check(shown.includes('第2版') && shown.includes('11个'), `version 2 with eleven steps: ${shown}`);
  check((await desk.locator('#template-steps').textContent()).includes(NEW_STEP.name), 'the new step is in force');
  log('the desk saved version 2 with the new step');
}

/// 1b. Two sessions edit the table at once; the second sees what it typed beside the table in force.
async function twoEditTheTemplate(browser, desk) {
  const mine = '国有建设用地使用权出让合同签订';
  const theirs = '出让合同签订（另一会话修改）';
  await desk.goto(`${base}/approvals/template`);
  const r = await rowOf(desk, 'transfer_contract');
  check(r > 0, `a row above the contract: ${r}`);

  const other = await newPage(browser, 'dispatcher (second session)');
  await signIn(other, 'dispatcher');
  await other.goto(`${base}/approvals/template`);
  await other.fill(`input[name="s${r}_name"]`, theirs);
  await act(other, '#do-save-steps');
  check((await other.locator('#shown-version').textContent()).includes('第3版'), 'the other session saved version 3');
  await other.context().close();

  await desk.fill(`input[name="s${r}_name"]`, mine);
  expectRefusal(409, '/approvals/template/steps');
  await Promise.all([desk.waitForEvent('framenavigated'), desk.click('#do-save-steps')]);
  await desk.waitForLoadState();
  check((await desk.locator('#table-error').textContent()).includes('现为第3版'), 'the conflict names version 3');
  const row = await rowOf(desk, 'transfer_contract');
  check(await desk.locator(`input[name="s${row}_name"]`).inputValue() === theirs, 'the table shows the name in force');
  const beside = desk.locator(`#row-${row + 1} #typed-s${row}_name`);
  check((await beside.textContent()).trim() === `您填写的：${mine}`, `what was typed, beside its row: ${await beside.textContent()}`);

  // The script on the conflict page: a new row has nothing beside it; a row above removed, the note
  // follows its row and its new number.
  const rows = desk.locator('#step-rows tr[data-row]');
  const count = await rows.count();
  await desk.click('#add-row');
  check(await desk.locator(`#row-${count + 1} .typed`).count() === 0, 'a new row starts with nothing typed beside it');
  await desk.click(`#row-${row} .remove-row`);
  const moved = desk.locator(`#row-${row} #typed-s${row - 1}_name`);
  check(await moved.count() === 1 && (await moved.textContent()).includes(mine), 'the note follows its row');
  check(await desk.locator(`#typed-s${row}_name`).count() === 0, 'no note is left at the old number');
  check(await desk.locator(`input[name="s${row - 1}_name"]`).inputValue() === theirs, 'beside the name in force');
  await shot(desk, 'approvals-template-conflict');
  log('a save on a table another session changed showed the table in force with the typed name beside its row');

  // The removal was only looked at: the table in force again, the name retyped, version 4.
  await desk.goto(`${base}/approvals/template`);
  await desk.fill(`input[name="s${row}_name"]`, mine);
  await act(desk, '#do-save-steps');
  check((await desk.locator('#shown-version').textContent()).includes('第4版'), 'version 4');
  check((await desk.locator('#template-steps').textContent()).includes(mine), 'the retyped name is in force');
  log('retyped on the table in force, the desk saved version 4');
}

/// 2. A project on the new version, and its live wall in the leader's browser.
async function deskCreatesAProject(browser, desk) {
  await Promise.all([desk.waitForURL(`${base}/approvals`), desk.click('nav >> text=拿地即开工')]);
  await desk.fill('#name', PROJECT);
  await desk.selectOption('#unit', 'guzhen');
  await act(desk, '#new-project button[type=submit]');
  const id = Number(new URL(desk.url()).pathname.split('/').pop());
  check(id > 0, `the project's page: ${desk.url()}`);
  check((await desk.locator('#clock').textContent()).includes('未开始'), 'no clock before the transaction');

  const wall = await newPage(browser, 'wall', { viewport: { width: 1600, height: 1000 } });
  await signIn(wall, 'leader');
  await wall.goto(`${base}/approvals/live?projects=${id}`);
  await wall.locator('#live-status.on').waitFor();
  check((await wall.locator(`#clock-${id}`).textContent()).trim() === '未成交', 'the wall waits for the transaction');
  check((await wall.locator(`#issued-${id}`).textContent()).trim() === '0/11', 'eleven steps to issue');
  await wall.evaluate(() => { window.notReloaded = true; });
  log(`the desk created project ${id}; the leader follows it on the live wall`);
  return { id, wall };
}

/// The clock on the wall, as shown.
async function wallClock(wall, id) {
  return (await wall.locator(`#clock-${id}`).textContent()).trim();
}

/// 3. The transaction, then every department's steps; the wall follows each.
async function departmentsIssue(browser, desk, wall, id) {
  await act(desk, '#transaction-form button[type=submit]');
  check((await desk.locator('#clock').textContent()).includes('计时中'), 'the clock runs from the transaction');
  await wall.locator(`#project-${id}:not(.permitted) #clock-${id}:has-text("计时中")`).waitFor();
  log('the desk recorded the land transaction; the wall clock runs');

  const admin = await apiSession('admin');
  const pages = new Map();
  let issued = 0;
  for (const [username, unit, prefix, steps] of DEPARTMENTS) {
    if (!pages.has(username)) {
      if (username !== 'water-office') {
        await postJson('/api/v1/admin/users', admin, { username, display_name: `${unit} 承办人`, role: 'handler', unit, password });
      }
      const page = await newPage(browser, username);
      await signIn(page, username);
      pages.set(username, page);
    }
    const page = pages.get(username);
    await page.goto(`${base}/approvals/${id}`);
    for (const code of steps) {
      const step = wall.locator(`#steps-${id} li[data-step="${code}"]`);
      check(!(await step.getAttribute('class')).includes('step-issued'), `${code} is not issued yet on the wall`);
      await act(page, `form[action="/approvals/${id}/steps/${code}/start"] button`);
      const document = `${prefix}〔${new Date().getFullYear()}〕${String(issued + 1).padStart(3, '0')}号`;
      const started = Date.now();
      await act(page, `form[action="/approvals/${id}/steps/${code}/issue"] button`, { selector: `#doc-${code}`, text: document });
      await wall.locator(`#steps-${id} li.step-issued[data-step="${code}"]`).waitFor();
      const shownAfter = Date.now() - started;
      issued += 1;
      check((await page.locator(`#step-${code} td.mono`).textContent()).trim() === document, `${code} carries ${document}`);
      check((await wall.locator(`#issued-${id}`).textContent()).trim() === `${issued}/11`, `${issued} issued on the wall`);
      log(`${username} (${unit}) issued ${code} as ${document}; green on the wall ${shownAfter} ms after the click`);
    }
  }
  await shot(pages.get('spk-clerk'), 'approvals-project');
  for (const page of pages.values()) await page.context().close();
}

/// The wall after the permit: every step green, the clock stopped; answers the time shown.
async function wallStops(wall, id) {
  await wall.locator(`#project-${id}.permitted`).waitFor();
  check(await wall.locator(`#steps-${id} li.step-issued`).count() === 11, 'every step is green');
  const stopped = await wallClock(wall, id);
  check(!stopped.includes('计时中'), `the clock stopped: ${stopped}`);
  await wall.waitForTimeout(2100);
  check(await wallClock(wall, id) === stopped, `the clock stays at ${stopped}`);
  check(await wall.evaluate(() => window.notReloaded === true), 'the wall was never reloaded');
  await shot(wall, 'approvals-live');
  log(`the wall stopped at ${stopped} with the construction permit`);
  return stopped;
}

/// 4. The record table lists the project with the time the wall shows.
async function recordTable(desk, id, stopped) {
  await desk.goto(`${base}/approvals/${id}`);
  const clock = (await desk.locator('#clock').textContent()).trim();
  check(clock === stopped, `the project page says ${clock}, the wall ${stopped}`);
  check((await desk.locator('#critical-path').textContent()).includes('建筑工程施工许可'), 'the critical path ends at the permit');
  await Promise.all([desk.waitForURL(`${base}/approvals`), desk.click('nav >> text=拿地即开工')]);
  const row = desk.locator('#record-table tbody tr', { hasText: PROJECT });
  check(await row.count() === 1, 'the record table lists the project');
  const cells = (await row.locator('td').allTextContents()).map((c) => c.trim());
  check(cells[0] === '1' && cells[2] === '古镇镇' && cells[5] === stopped, `the record row: ${cells}`);
  await shot(desk, 'approvals-records');
  log(`the record table: ${cells.join(' | ')}`);
}

run('approvals', async (browser) => {
  const desk = await newPage(browser, 'dispatcher', { viewport: { width: 1600, height: 1000 } });
  await deskEditsTheTemplate(desk);
  await twoEditTheTemplate(browser, desk);
  const { id, wall } = await deskCreatesAProject(browser, desk);
  await departmentsIssue(browser, desk, wall, id);
  const stopped = await wallStops(wall, id);
  await recordTable(desk, id, stopped);
});
