// The staff inbox (消息) in a real browser: the handler of 市市场监管局 keeps
// the work queue open; when a dispatcher sends a new request to the unit the
// header's unread count appears without a reload (server-sent events); the
// handler opens 消息, sees the entry and marks it read, and the count goes.
//
//   node e2e/inbox.mjs http://127.0.0.1:8080
//
// Screenshots go to target/screenshots/ (inbox-badge, inbox). Any console
// error, page error or failed request fails it.

import { act, apiSession, base, check, log, newPage, postJson, run, shot, signIn } from './harness.mjs';

run('inbox', async (browser) => {
  const handler = await newPage(browser, 'handler');
  await signIn(handler, 'handler');
  const badge = handler.locator('#inbox-count');
  check(await badge.isHidden(), 'no count while the inbox is empty');
  log('the handler keeps the work queue open; no unread count');

  const { answer: taken } = await postJson('/api/v1/public/requests', null, {
    kind: 'complaint',
    asker: { type: 'resident' },
    contact: { name: '李伟明', phone: '13912345678' },
    title: '商铺无证经营',
    content: '路口有商铺无证经营，请核查。',
    category: 'biz.change',
  });
  const no = taken.tracking_no;
  const cookie = await apiSession('dispatcher');
  await postJson(`/api/v1/requests/${no}/dispatch`, cookie, { lead_unit: 'scjgj' });
  await badge.waitFor({ state: 'visible' });
  check((await badge.textContent()).trim() === '1', `the count says 1, got ${await badge.textContent()}`);
  await shot(handler, 'inbox-badge');
  log(`a dispatch of ${no} to the unit shows 1 unread in the header, without a reload`);

  await handler.click('a[href="/inbox"]');
  await handler.waitForURL(`${base}/inbox`);
  const row = handler.locator('#inbox-entries tbody tr').first();
  check((await row.innerText()).includes(no), 'the entry names the request');
  check(!(await handler.content()).includes('13912345678'), 'never the asker’s phone');
  await shot(handler, 'inbox');
  await act(handler, '#inbox-entries button.link');
  await handler.locator('#inbox-count').waitFor({ state: 'hidden' });
  check((await handler.locator('#inbox-entries tbody tr').first().innerText()).includes('已读'), 'marked read');
  log('the handler opens 消息, marks the entry read, and the count goes');
});
