// The cross-role story in a real browser (Debian's Chromium driven by
// playwright-core): an enterprise submits on a phone, keeps its progress page
// open, and sees every step the dispatcher and the handler take appear live
// (server-sent events, no reload); then it rates the answer.
//
//   node e2e/story.mjs http://127.0.0.1:8080
//
// Staff sign in with the demo password (E2E_PASSWORD, default mashangban-demo).
// Screenshots of the main pages go to target/screenshots/. Any console error,
// page error or failed request fails the story.

import { act, base, check, log, newPage, run, shot, signIn } from './harness.mjs';

/// Waits until the asker's open page shows a step, and checks it did not reload.
async function seeLive(asker, kind, text) {
  // Polls by timer: a page in a window behind others gets no animation frames.
  await asker.waitForFunction(([k, t]) => {
    const step = document.querySelector(`#timeline li[data-kind="${k}"]`);
    return step && (!t || step.textContent.includes(t));
  }, [kind, text], { polling: 100 });
  const marker = await asker.evaluate(() => window.__storyMarker);
  check(marker === 'still-here', `the progress page reloaded before "${kind}" appeared`);
  log(`the asker saw "${kind}" live`);
}

async function submit(asker) {
  await asker.goto(`${base}/`);
  await shot(asker, 'portal');
  await Promise.all([asker.waitForURL(`${base}/submit`), asker.getByRole('link', { name: '提交诉求' }).first().click()]);
  const code = asker.locator('#credit_code');
  await code.fill('91350100M000100Y44');
  await asker.locator('#credit_code-check.bad', { hasText: '校验位不符' }).waitFor();
  await code.fill('91350100M000100Y43');
  await asker.locator('#credit_code-check.ok').waitFor();
  await asker.getByLabel('企业名称').fill('中山市华凯灯饰有限公司');
  await asker.getByLabel('联系人').fill('陈嘉欣');
  await asker.getByLabel('手机').fill('13800138000');
  await asker.getByLabel('诉求类型').selectOption('complaint');
  await asker.getByLabel('分类').selectOption('biz.change');
  await asker.getByLabel('镇街').selectOption('guzhen');
  await asker.getByLabel('地址').fill('古镇镇中兴大道18号');
  await asker.getByLabel('标题').fill('营业执照变更登记迟迟未办结');
  await asker.getByLabel('内容').fill('我司上月提交经营范围变更申请，至今未办结，请尽快办理。');
  // An enterprise's request goes through the 马上办 zone: its limits come from the rule table.
  await asker.locator('#act_now').check();
  await asker.getByLabel('附件').setInputFiles({ name: '情况说明.txt', mimeType: 'text/plain', buffer: Buffer.from('情况说明：变更申请于上月提交。') });
  await shot(asker, 'submit');
  await Promise.all([asker.waitForURL(/\/submitted\/ZS\d+\?code=\d{8}$/), asker.getByRole('button', { name: '提交诉求' }).click()]);
  const no = (await asker.locator('#tracking-no').textContent()).trim();
  const checkCode = (await asker.locator('#check-code').textContent()).trim();
  check(/^ZS\d{14}$/.test(no), `tracking number ${no}`);
  check(/^\d{8}$/.test(checkCode), `check code ${checkCode}`);
  check(await asker.locator('svg.qr').isVisible(), 'the QR code is shown');
  const limits = (await asker.locator('#limits').textContent()).trim();
  check(limits.startsWith('企业诉求“马上办”') && limits.includes('答复办结：5个工作日内'), `the 马上办 limits: ${limits}`);
  await shot(asker, 'answer');
  log(`submitted ${no}`);
  return no;
}

async function story(browser) {
  const asker = await newPage(browser, 'asker', { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  const no = await submit(asker);

  await Promise.all([asker.waitForURL(new RegExp(`/track/${no}\\?code=`)), asker.locator('#progress-link').click()]);
  await asker.locator('#live-status.on').waitFor();
  await asker.evaluate(() => { window.__storyMarker = 'still-here'; });
  check((await asker.locator('#state-label').textContent()).trim() === '已受理', 'starts as received');

  const dispatcher = await newPage(browser, 'dispatcher', { viewport: { width: 1280, height: 900 } });
  await signIn(dispatcher, 'dispatcher');
  await dispatcher.locator(`a[href="/work/${no}"]`).waitFor();
  await Promise.all([dispatcher.waitForURL(`${base}/work/${no}`), dispatcher.click(`a[href="/work/${no}"]`)]);
  check((await dispatcher.locator('#lead_unit').inputValue()) === 'scjgj', 'the lead unit is preset to the category default');
  await shot(dispatcher, 'work-detail');
  await act(dispatcher, '#do-dispatch');
  await seeLive(asker, 'dispatched', '市市场监管局');

  const handler = await newPage(browser, 'handler', { viewport: { width: 1280, height: 900 } });
  await signIn(handler, 'handler');
  await handler.locator(`a[href="/work/${no}"]`).waitFor();
  await shot(handler, 'work-queue');
  await Promise.all([handler.waitForURL(`${base}/work/${no}`), handler.click(`a[href="/work/${no}"]`)]);
  await act(handler, '#do-sign');
  await seeLive(asker, 'signed_for');
  await act(handler, '#do-stage-reply', { selector: '#stage-content', text: '已联系企业，正在核查材料。' });
  await seeLive(asker, 'stage_reply', '正在核查材料');
  await act(handler, '#do-reply', { selector: '#reply-content', text: '经核实，变更登记已办结，请领取新执照。' });
  await seeLive(asker, 'replied', '请领取新执照');

  await dispatcher.reload();
  await act(dispatcher, '#do-close');
  await seeLive(asker, 'closed');
  await asker.locator('#rate').waitFor({ state: 'visible' });
  check((await asker.locator('#state-label').textContent()).trim() === '已办结', 'the state is updated in place');
  await shot(asker, 'progress');

  await asker.getByLabel('非常满意').check();
  await asker.getByLabel('已解决').check();
  await Promise.all([asker.waitForURL(new RegExp(`/track/${no}\\?code=`)), asker.getByRole('button', { name: '提交评价' }).click()]);
  await asker.locator('#rated', { hasText: '非常满意' }).waitFor();
  await asker.locator('#timeline li[data-kind="followed_up"]').waitFor();
  log('the asker rated the answer');
  await shot(dispatcher, 'work-detail-closed');
  await dispatcher.goto(`${base}/login`);
  await shot(dispatcher, 'login');
}

run('story', story);
