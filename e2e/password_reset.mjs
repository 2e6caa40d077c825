// Password reset by SMS code (忘记密码) in a real browser (Debian's Chromium
// driven by playwright-core), with the SMS really sent: the server runs its
// delivery worker against the HTTP sink of the notification tests, whose
// `GET /sms` (in E2E_SMS_SINK) answers what the gateway was sent. The demo
// enterprise follows 忘记密码 from the sign-in page, types its phone, reads
// the code from the SMS its phone got, sets a new password; then the old
// password is refused and the new one signs in.
//
//   E2E_SMS_SINK=http://127.0.0.1:PORT/sms node e2e/password_reset.mjs http://127.0.0.1:8080
//
// Screenshots go to target/screenshots/ (reset-code, reset-done). Any console
// error, page error or failed request fails it (but the old password's refusal,
// which the story checks).

import { base, check, expectRefusal, log, newPage, password, run, shot } from './harness.mjs';

const sink = process.env.E2E_SMS_SINK;
const PHONE = '13926000001';
const NEW_PASSWORD = 'lamp-factory-2026';
const SMS_WAIT_MS = 15_000;

/// The code of the first reset SMS the gateway was sent for `phone`, waiting for the delivery worker.
async function codeSentTo(phone) {
  const until = Date.now() + SMS_WAIT_MS;
  while (Date.now() < until) {
    const sent = await (await fetch(sink)).json();
    const sms = sent.find((s) => s.mobile === phone && s.content.includes('验证码为'));
    if (sms) {
      const code = sms.content.split('验证码为')[1].slice(0, 6);
      check(/^\d{6}$/.test(code), `a six-digit code in ${sms.content}`);
      check(sms.content.startsWith('【马上办】'), `the platform's signature on ${sms.content}`);
      return code;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no reset SMS reached ${phone} within ${SMS_WAIT_MS / 1000} s`);
}

/// Signs in through the sign-in page; answers whether it led to the queue.
async function signInWith(page, username, secret) {
  await page.goto(`${base}/login`);
  await page.getByLabel('用户名').fill(username);
  await page.getByLabel('密码', { exact: true }).fill(secret);
  await Promise.all([page.waitForLoadState(), page.getByRole('button', { name: '登录' }).click()]);
  await page.waitForURL((url) => url.pathname === '/work' || url.pathname === '/login');
  return new URL(page.url()).pathname === '/work';
}

run('password-reset', async (browser) => {
  check(sink, 'E2E_SMS_SINK names the SMS sink');
  const page = await newPage(browser, 'enterprise');
  await page.goto(`${base}/login`);
  await Promise.all([page.waitForURL(`${base}/password-reset`), page.getByRole('link', { name: '忘记密码？' }).click()]);
  await page.getByLabel('用户名或手机号').fill(PHONE);
  await page.getByRole('button', { name: '获取验证码' }).click();
  await page.locator('#reset-code-form').waitFor();
  check((await page.locator('#reset-code-form #account').inputValue()) === PHONE, 'the code step keeps the phone');
  log('忘记密码 → the phone typed → the code step');

  const code = await codeSentTo(PHONE);
  log('the delivery worker sent the code to the phone through the SMS gateway');

  await page.getByLabel('短信验证码').fill(code);
  await page.getByLabel('新密码', { exact: true }).fill(NEW_PASSWORD);
  await page.getByLabel('再次输入新密码').fill(NEW_PASSWORD);
  await shot(page, 'reset-code');
  await page.getByRole('button', { name: '设置新密码' }).click();
  await page.locator('#reset-done').waitFor();
  await shot(page, 'reset-done');
  log('the code and the new password set it');

  // The old password no longer signs in (the page says so), the new one does.
  expectRefusal(401, '/login');
  check(!(await signInWith(page, 'enterprise', password)), 'the old password is refused');
  check(await page.getByRole('alert').isVisible(), 'the sign-in page says why');
  check(await signInWith(page, 'enterprise', NEW_PASSWORD), 'the new password signs in');
  log('the old password is refused and the new one signs in');
});
