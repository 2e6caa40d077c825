// A look-up storm from one address (查询码暴力猜测) in a real browser (Debian's
// Chromium driven by playwright-core), on a server with a deployment's default
// look-up limits. Every client here shares 127.0.0.1, like the citizens behind
// the reverse proxy of docs/deployment.md or one office's NAT:
//
// 1. two askers have submitted (A and B);
// 2. someone at the shared address guesses A's check code, far past the limit:
//    exactly E2E_LOOKUP_LIMIT guesses are evaluated, the rest refused;
// 3. A's number is then held for the hour (even with its right code), and the
//    page says so in words;
// 4. B, at the same address, types its number and code into the look-up form
//    and reads its progress;
// 5. a new asker submits through the portal: the answer page shows the tracking
//    number, the check code and the QR code, and its progress link works.
//
//   E2E_LOOKUP_LIMIT=30 node e2e/lookup_storm.mjs http://127.0.0.1:8080
//
// Screenshots go to target/screenshots/ (storm-held, storm-other, storm-answer).
// Any console error, page error or failed request fails it (but the refusal the
// story checks).

import { base, check, expectRefusal, log, newPage, postJson, run, shot } from './harness.mjs';

const LIMIT = Number(process.env.E2E_LOOKUP_LIMIT || 30);
const GUESSES = LIMIT + 20;

/// A resident's question submitted through the public API; answers its tracking number and check code.
async function submitted(title) {
  const { answer } = await postJson('/api/v1/public/requests', null, {
    kind: 'consultation',
    asker: { type: 'resident' },
    contact: { name: '李伟明', phone: '13912345678' },
    title,
    content: '从外省调入中山工作，养老保险关系如何转移？',
    category: 'social.pension',
    town: 'xiaolan',
  });
  check(/^ZS\d{14}$/.test(answer.tracking_no) && /^\d{8}$/.test(answer.check_code), JSON.stringify(answer));
  return { no: answer.tracking_no, code: answer.check_code };
}

/// A wrong code for `code`: same length, every digit changed.
function wrong(code, i) {
  const guess = String(10_000_000 + ((i * 7_919) % 89_999_999)).slice(0, 8);
  return guess === code ? String((Number(code) + 1) % 100_000_000).padStart(8, '0') : guess;
}

/// Guesses `no`'s code `GUESSES` times from this address through the progress page, as a script would;
/// answers how many of each status came back.
async function storm(no, code) {
  const counts = {};
  for (let i = 0; i < GUESSES; i++) {
    const res = await fetch(`${base}/track/${no}?code=${wrong(code, i)}`, { redirect: 'manual' });
    counts[res.status] = (counts[res.status] || 0) + 1;
    await res.arrayBuffer();
  }
  return counts;
}

/// Looks up `no` with `code` through the portal's look-up form, as an asker types them.
async function lookUp(page, no, code) {
  await page.goto(`${base}/track`);
  await page.getByLabel('受理编号').fill(no);
  await page.getByLabel('查询码').fill(code);
  await Promise.all([page.waitForURL(new RegExp(`/track/${no}\\?code=`)), page.getByRole('button', { name: '查询' }).click()]);
}

run('lookup-storm', async (browser) => {
  const a = await submitted('咨询养老保险转移（甲）');
  const b = await submitted('咨询养老保险转移（乙）');
  log(`two askers submitted: ${a.no} and ${b.no}`);

  const counts = await storm(a.no, a.code);
  check(counts[404] === LIMIT, `exactly ${LIMIT} guesses evaluated: ${JSON.stringify(counts)}`);
  check(counts[429] === GUESSES - LIMIT, `the rest refused unevaluated: ${JSON.stringify(counts)}`);
  log(`${GUESSES} guesses at ${a.no}'s code from one address: ${LIMIT} evaluated, ${GUESSES - LIMIT} refused`);

  // A's number is held for the hour, even with its right code; the page says why and what to do.
  const held = await newPage(browser, 'held', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  expectRefusal(429, `/track/${a.no}`);
  await lookUp(held, a.no, a.code);
  const message = await held.getByRole('alert').textContent();
  check(message.includes('查询失败次数过多') && message.includes('一小时后再试'), `the held page says why: ${message}`);
  check((await held.getByLabel('受理编号').inputValue()) === a.no, 'the look-up form keeps the number typed');
  check(!(await held.locator('#timeline').count()), 'nothing of the request is shown');
  await shot(held, 'storm-held');
  log(`${a.no} is held for the hour and the page says so`);

  // Another asker at the same address mistypes their code once (the form says so and keeps what was typed),
  // then reads their progress.
  const other = await newPage(browser, 'other', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  expectRefusal(404, `/track/${b.no}`);
  await lookUp(other, b.no, wrong(b.code, 1));
  check((await other.getByRole('alert').textContent()).includes('受理编号或查询码不正确'), 'a mistyped code is named');
  check((await other.getByLabel('受理编号').inputValue()) === b.no, 'the number typed is kept');
  await other.getByLabel('查询码').fill(b.code);
  await Promise.all([other.waitForURL(new RegExp(`/track/${b.no}\\?code=${b.code}`)), other.getByRole('button', { name: '查询' }).click()]);
  check((await other.locator('#state-label').textContent()).trim() === '已受理', 'B reads its state');
  check((await other.locator('main').textContent()).includes(b.no), 'B reads its number');
  await shot(other, 'storm-other');
  log(`${b.no}'s asker at the same address still reads its progress`);

  // A new submission from the same address gets its answer page, and its progress link works.
  const asker = await newPage(browser, 'asker', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await asker.goto(`${base}/submit`);
  await asker.getByLabel('个人').check();
  await asker.getByLabel('联系人').fill('黄淑仪');
  await asker.getByLabel('手机').fill('13600136000');
  await asker.getByLabel('诉求类型').selectOption('consultation');
  await asker.getByLabel('分类').selectOption('social.pension');
  await asker.getByLabel('镇街').selectOption('xiaolan');
  await asker.getByLabel('标题').fill('咨询灵活就业人员参保');
  await asker.getByLabel('内容').fill('灵活就业人员如何在中山参加职工养老保险？');
  await Promise.all([asker.waitForURL(/\/submitted\/ZS\d+\?code=\d{8}$/), asker.getByRole('button', { name: '提交诉求' }).click()]);
  const no = (await asker.locator('#tracking-no').textContent()).trim();
  const code = (await asker.locator('#check-code').textContent()).trim();
  check(/^ZS\d{14}$/.test(no) && /^\d{8}$/.test(code), `the answer page shows ${no} and ${code}`);
  check(await asker.locator('svg.qr').isVisible(), 'the QR code is shown');
  await shot(asker, 'storm-answer');
  await Promise.all([asker.waitForURL(new RegExp(`/track/${no}\\?code=`)), asker.locator('#progress-link').click()]);
  check((await asker.locator('#state-label').textContent()).trim() === '已受理', 'the new request reads its state');
  log(`a new submission from the same address got its answer page (${no}) and its progress`);
});
