// The secretary-mayor direct line (书记市长直通车) in a real browser: a
// resident writes to the mayor on the portal; the leaders' office corrects
// its title and category (更正) and puts the letter before the city leader,
// whose 直通车批示件 page stays open and shows every step without a reload
// (server-sent events): the row appears, the
// leader instructs (in another window), the market regulator signs for and
// replies (API), the office approves the reply; the asker then reads the
// answer on the portal's progress page.
//
//   node e2e/direct_line.mjs http://127.0.0.1:8080
//
// Screenshots go to target/screenshots/ (direct-line-*). Any console error,
// page error or failed request fails it.

import { act, apiSession, base, check, log, newPage, postJson, run, shot, signIn } from './harness.mjs';

const TITLE = '扩建项目规划许可迟迟未批';
const CORRECTED = '扩建项目规划许可三个月未批复';
const REPLY = '经核查，规划许可已于今日批复，请到窗口领取。';

/// Waits until the leader's open page shows the item's row with `cell` containing `text`, and checks it did not reload.
async function seeLive(leader, no, cell, text, what) {
  await leader.waitForFunction(([n, c, t]) => {
    const rows = document.querySelectorAll('#mine tbody tr[data-item]');
    for (const row of rows) {
      if (!row.textContent.includes(n)) continue;
      const td = row.querySelector(`td.${c}`);
      return !!td && td.textContent.includes(t);
    }
    return false;
  }, [no, cell, text], { polling: 100 });
  const marker = await leader.evaluate(() => window.__liveMarker);
  check(marker === 'still-here', `the leader's page reloaded before "${what}" appeared`);
  log(`the leader's page showed "${what}" live`);
}

run('direct-line', async (browser) => {
  // The asker writes to the mayor on the portal.
  const asker = await newPage(browser, 'asker', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await asker.goto(`${base}/direct-line`);
  await asker.locator('input[name="addressee"][value="mayor"]').check();
  await asker.locator('#name').fill('张建国');
  await asker.locator('#phone').fill('13800138011');
  await asker.locator('#title').fill(TITLE);
  await asker.locator('#content').fill('我厂扩建项目的规划许可已申请三个月仍未批复，请市长关心。');
  await act(asker, '#direct-line-form button[type="submit"]');
  const no = (await asker.locator('#taken-no').textContent()).trim();
  const code = (await asker.locator('#taken-code').textContent()).trim();
  check(/^ZTC\d+$/.test(no) && /^\d{8}$/.test(code), `number ${no} and check code ${code}`);
  await shot(asker, 'direct-line-portal');
  log(`the asker wrote to the mayor: ${no}`);

  // The leader opens 直通车批示件 and keeps it open: nothing is before them yet.
  const leader = await newPage(browser, 'leader', { viewport: { width: 1280, height: 900 } });
  await signIn(leader, 'leader');
  await Promise.all([leader.waitForURL(`${base}/direct-line/mine`), leader.getByRole('link', { name: '直通车批示', exact: true }).click()]);
  await leader.locator('#live-status.on').waitFor();
  check(await leader.locator('#items-empty').isVisible(), 'no item before the leader yet');
  await leader.evaluate(() => { window.__liveMarker = 'still-here'; });

  // The office finds the letter in 待甄别 and puts it before the leader.
  const office = await newPage(browser, 'office', { viewport: { width: 1280, height: 900 } });
  await signIn(office, 'leaders-office');
  await office.goto(`${base}/direct-line/office?queue=new`);
  const link = office.locator('#items a', { hasText: no });
  const itemUrl = `${base}${await link.getAttribute('href')}`;
  check((await office.locator('#items tr', { hasText: no }).textContent()).includes('张建国'), 'the office reads the name');
  await Promise.all([office.waitForURL(itemUrl), link.click()]);
  // Before putting it before the leader, the office corrects the title and chooses the category (更正).
  await office.locator('#k-title').fill(CORRECTED);
  await office.locator('#k-category').selectOption('biz.change');
  await act(office, '#correct-form button[type="submit"]');
  check((await office.locator('#history').textContent()).includes(`标题：${TITLE} → ${CORRECTED}`), 'the correction is in the history');
  check((await office.locator('#s-category').inputValue()) === 'biz.change', 'the submit form takes the corrected category');
  log('the office corrected the title and the category');
  await office.locator('#s-comment').fill('涉及规划审批，建议请市长批示');
  await act(office, '#submit-form button[type="submit"]');
  await seeLive(leader, no, 'item-state', '已呈报待批示', '已呈报待批示');
  const row = leader.locator('#mine tbody tr', { hasText: no });
  check((await row.textContent()).includes(CORRECTED), 'the leader reads the corrected title');
  check(!(await row.textContent()).includes('张建国'), 'the leader\'s row shows no personal data');
  await shot(leader, 'direct-line-mine-submitted');

  // The leader instructs in another window; the open page follows.
  const instructing = await newPage(browser, 'leader-instructs', { viewport: { width: 1280, height: 900 } });
  await signIn(instructing, 'leader');
  await instructing.goto(itemUrl);
  await instructing.locator('#text').fill('请市场监管局牵头，5个工作日内答复企业');
  await instructing.locator('#lead_unit').selectOption('scjgj');
  await instructing.locator('#days').fill('5');
  await act(instructing, '#instruct-form button[type="submit"]');
  const rno = (await instructing.locator('dd a.mono[href^="/work/"]').textContent()).trim();
  await seeLive(leader, no, 'item-state', '批示办理中', '批示办理中');
  await seeLive(leader, no, 'request-state', '督办', '已派单，督办');
  log(`instructed: request ${rno}`);

  // The market regulator signs for it and replies (API); the row follows each step.
  const handler = await apiSession('handler');
  await postJson(`/api/v1/requests/${rno}/sign`, handler, {});
  await seeLive(leader, no, 'request-state', '已签收', '已签收');
  await postJson(`/api/v1/requests/${rno}/reply`, handler, { content: REPLY });
  await seeLive(leader, no, 'request-state', '已答复', '承办单位已答复');

  // The office approves the reply on the item's page; the leader's row says 已答复.
  await office.goto(itemUrl);
  check((await office.locator('#last-reply').textContent()).includes(REPLY), 'the office reads the reply');
  await office.locator('input[name="decision"][value="approve"]').check();
  await act(office, '#review-form button[type="submit"]');
  await seeLive(leader, no, 'item-state', '已答复', '已答复');
  await shot(leader, 'direct-line-mine-answered');

  // The asker reads the approved answer on the portal's progress page.
  await asker.goto(`${base}/direct-line/track?no=${no}&code=${code}`);
  check((await asker.locator('#status').textContent()).includes('已答复'), 'the asker sees 已答复');
  check((await asker.locator('#reply').textContent()).includes(REPLY), 'the asker reads the answer');
  await shot(asker, 'direct-line-track');
  log('the asker read the approved answer on the progress page');
});
