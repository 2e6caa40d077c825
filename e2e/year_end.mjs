// The turn of the year in a real browser (Debian's Chromium driven by
// playwright-core): the server's clock stands at Tue 2026-12-15 10:00, and the
// State Council's 2027 holiday notice is not loaded.
//
// 1. An enterprise submits a complaint (15 working days): the answer page and
//    the progress page give its deadline counted over weekends only, marked 暂定
//    (and the live progress stream keeps the mark);
// 2. the administrator is warned on every page that 2027 is missing, and
//    imports the notice as a TOML file on the calendar page (元旦 01-01 to 01-03);
// 3. the asker's open progress page moves the deadline a working day later,
//    no longer 暂定, without reloading;
// 4. the dispatcher's page of the request shows the exact deadline and the
//    recount (期限重算) in its history.
//
//   node e2e/year_end.mjs http://127.0.0.1:8080   (a server whose clock is 2026-12-15)
//
// Screenshots go to target/screenshots/ (year-answer, year-warning,
// year-imported, year-recounted, year-history). Any console error, page error
// or failed request fails it.

import { base, check, log, newPage, run, shot, signIn } from './harness.mjs';

const PROVISIONAL_DUE = '2027-01-05 17:30';
const EXACT_DUE = '2027-01-06 17:30';
const YEAR_2027 = `[[year]]
year = 2027
notice = "国办发明电〔2026〕测试号"
holidays = [
  { date = "2027-01-01", name = "元旦" },
  { date = "2027-01-02", name = "元旦" },
  { date = "2027-01-03", name = "元旦" },
]
`;

/// An enterprise's complaint through the portal; answers its tracking number (on the answer page).
async function submit(asker) {
  await asker.goto(`${base}/submit`);
  await asker.getByLabel('统一社会信用代码').fill('91350100M000100Y43');
  await asker.getByLabel('企业名称').fill('中山市华凯灯饰有限公司');
  await asker.getByLabel('联系人').fill('陈嘉欣');
  await asker.getByLabel('手机').fill('13800138000');
  await asker.getByLabel('诉求类型').selectOption('complaint');
  await asker.getByLabel('分类').selectOption('biz.change');
  await asker.getByLabel('镇街').selectOption('guzhen');
  await asker.getByLabel('标题').fill('营业执照变更登记迟迟未办结');
  await asker.getByLabel('内容').fill('我司上月提交经营范围变更申请，至今未办结，请尽快办理。');
  await Promise.all([asker.waitForURL(/\/submitted\/ZS\d+\?code=\d{8}$/), asker.getByRole('button', { name: '提交诉求' }).click()]);
  return (await asker.locator('#tracking-no').textContent()).trim();
}

run('year-end', async (browser) => {
  const asker = await newPage(browser, 'asker', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  const no = await submit(asker);
  const answer = await asker.locator('main').textContent();
  check(answer.includes(`${PROVISIONAL_DUE}（暂定`), `the answer page's deadline is provisional: ${answer}`);
  await shot(asker, 'year-answer');
  log(`${no} submitted on 2026-12-15: due ${PROVISIONAL_DUE}, 暂定 (weekends only)`);

  await Promise.all([asker.waitForURL(new RegExp(`/track/${no}\\?code=`)), asker.locator('#progress-link').click()]);
  const due = asker.locator('#due-at');
  check((await due.textContent()).trim() === `${PROVISIONAL_DUE}（暂定）`, `the progress page: ${await due.textContent()}`);
  // The stream's first event re-renders the page: the mark must survive it.
  await asker.locator('#live-status', { hasText: '最近更新' }).waitFor();
  check((await due.textContent()).trim() === `${PROVISIONAL_DUE}（暂定）`, `after the stream: ${await due.textContent()}`);
  log('the progress page marks the deadline 暂定, before and after its live stream connects');

  const admin = await newPage(browser, 'admin');
  await signIn(admin, 'admin');
  await admin.goto(`${base}/admin/calendar`);
  const warning = admin.locator('#calendar-warning');
  check((await warning.textContent()).includes('尚未导入2027年'), `the administrator is warned: ${await warning.textContent()}`);
  await shot(admin, 'year-warning');
  await admin.getByLabel(/TOML 文件/).setInputFiles({ name: '2027.toml', mimeType: 'application/toml', buffer: Buffer.from(YEAR_2027) });
  await Promise.all([admin.waitForURL(/\/admin\/calendar\?ok=import$/), admin.getByRole('button', { name: '导入' }).click()]);
  check(!(await admin.locator('#calendar-warning').count()), 'no warning once 2027 is loaded');
  const years = await admin.locator('#years').textContent();
  check(years.includes('2027') && years.includes('国办发明电〔2026〕测试号'), `2027 is listed: ${years}`);
  await shot(admin, 'year-imported');
  log('the administrator was warned, imported 2027 from a TOML file, and the warning went');

  await asker.waitForFunction((want) => document.getElementById('due-at').textContent.trim() === want, EXACT_DUE);
  check((await asker.locator('#state-label').textContent()).trim() === '已受理', 'the state is unchanged');
  await shot(asker, 'year-recounted');
  log(`the asker's open page moved the deadline to ${EXACT_DUE}, exact, without reloading`);

  const dispatcher = await newPage(browser, 'dispatcher');
  await signIn(dispatcher, 'dispatcher');
  await dispatcher.goto(`${base}/work/${no}`);
  const facts = await dispatcher.locator('main').textContent();
  check(facts.includes(`答复期限${EXACT_DUE}`), `the staff page's deadline: ${facts}`);
  check(!(await dispatcher.locator('span.tag', { hasText: '暂定' }).count()), 'the deadline is no longer marked 暂定');
  const recount = dispatcher.locator('tr[data-kind="deadlines_recounted"]');
  check((await recount.count()) === 1, 'one recount in the history');
  check((await recount.textContent()).includes('期限重算'), `the recount is named: ${await recount.textContent()}`);
  await shot(dispatcher, 'year-history');
  log('the dispatcher reads the exact deadline and the recount (期限重算) in the history');
});
