// Inside a unit in a real browser (docs/inside-a-unit.md), two stories:
//
//   node e2e/inside_unit.mjs http://127.0.0.1:8080 review    二次派单 to a 科室, with review
//   node e2e/inside_unit.mjs http://127.0.0.1:8080 cosign    会签 with two co-units
//
// review: complaints' replies are put under review in the rule table; 市市场监管局's handler signs for a
// complaint and assigns it to its 登记注册科, whose handler signs for it and replies to the unit; the
// handler drafts the reply, the unit leader finds it under 待审核 on the desk (with the section's load),
// sends it back, approves the second draft, and the asker's progress page shows one reply and nothing
// from inside the unit.
// cosign: a complaint led by 市市场监管局 with 古镇镇 and 市商务局 co-handling; the handler's reply is
// refused until both have given their parts on their pages, then goes out.
//
// Screenshots go to target/screenshots/. Any console error, page error or failed request fails it
// but the one refusal the cosign story provokes and checks on its page.

import { act, base, check, expectRefusal, log, newPage, password, run, shot, signIn } from './harness.mjs';

const which = process.argv[3] || 'review';

async function api(method, path, cookie, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const answer = await res.json();
  check(res.ok, `${method} ${path}: HTTP ${res.status} ${JSON.stringify(answer)}`);
  return { answer, res };
}

async function login(username) {
  const { res } = await api('POST', '/api/v1/auth/login', null, { username, password });
  return (res.headers.get('set-cookie') || '').split(';')[0];
}

/// A complaint taken in on the portal and dispatched to 市市场监管局 (with `co`); its number and check code.
async function dispatched(co) {
  const { answer } = await api('POST', '/api/v1/public/requests', null, {
    kind: 'complaint',
    asker: { type: 'resident' },
    contact: { name: '李伟明', phone: '13912345678' },
    title: '商铺变更登记迟迟未办',
    content: '古镇镇中兴大道的商铺变更登记一个月未办结，请核查。',
    category: 'biz.change',
    town: 'guzhen',
  });
  await api('POST', `/api/v1/requests/${answer.tracking_no}/dispatch`, await login('dispatcher'), { lead_unit: 'scjgj', co_units: co });
  return { no: answer.tracking_no, code: answer.check_code };
}

/// `YYYY-MM-DDTHH:MM` in Shanghai, `days` from now, for a datetime-local field.
function localIn(days) {
  const at = new Date(Date.now() + days * 86400000 + 8 * 3600000);
  return at.toISOString().slice(0, 16);
}

async function open(page, no) {
  await page.goto(`${base}/work/${no}`);
}

async function publicTimeline(no, code) {
  const res = await fetch(`${base}/api/v1/public/requests/${no}?code=${code}`);
  check(res.ok, `progress of ${no}: HTTP ${res.status}`);
  return res.json();
}

function assertNothingInside(progress, secrets) {
  const kinds = progress.timeline.map((s) => s.kind);
  for (const inside of ['co_answered', 'reply_submitted', 'reply_sent_back', 'sub_dispatched', 'sub_signed_for', 'sub_replied']) {
    check(!kinds.includes(inside), `${inside} on the public page: ${kinds}`);
  }
  const text = JSON.stringify(progress);
  for (const s of secrets) check(!text.includes(s), `"${s}" on the public page`);
}

async function review(browser) {
  const admin = await login('admin');
  const { answer: rules } = await api('GET', '/api/v1/time-limits', admin);
  await api('PUT', '/api/v1/time-limits', admin, { rules: [...rules.rules, { kind: 'complaint', review: true }] });
  const { no, code } = await dispatched([]);
  log(`complaints' replies are reviewed; ${no} is dispatched to 市市场监管局`);

  const handler = await newPage(browser, 'handler');
  await signIn(handler, 'handler');
  await open(handler, no);
  await act(handler, '#do-sign');
  await handler.selectOption('#sub-dispatch-sub_unit', 'scjgj-djk');
  await handler.fill('#sub-dispatch-due', localIn(3));
  await act(handler, '#do-sub-dispatch', { selector: '#sub-dispatch-comment', text: '请登记科核实变更材料' });
  check((await handler.locator('#sub-assignments').innerText()).includes('登记注册科'), 'the assignment is listed');
  log('the handler signs for it and assigns it to 登记注册科 with a deadline inside the unit’s');

  const section = await newPage(browser, 'section');
  await signIn(section, 'section');
  check((await section.locator('#queue-queue').innerText()).includes(no), 'in the section’s queue');
  await open(section, no);
  check(await section.locator('#do-reply').count() === 0, 'the section cannot answer the asker');
  await act(section, '#do-sub-sign');
  await act(section, '#do-sub-reply', { selector: '#sub-reply-content', text: '登记科：变更材料已补齐，三个工作日内办结。' });
  await shot(section, 'inside-unit-section');
  log('登记注册科 finds it in its queue, signs for it and replies to its unit');

  await open(handler, no);
  check((await handler.locator('#sub-assignments').innerText()).includes('变更材料已补齐'), 'the unit reads the section’s reply');
  await act(handler, '#do-reply', { selector: '#reply-content', text: '已办结。' });
  check((await handler.locator('#review-content').innerText()).includes('已办结'), 'the draft waits for review');
  check((await handler.locator('#state-label').innerText()).trim() === '已签收', 'not replied yet');
  log('the handler drafts the reply; it waits for the unit leader');

  const leader = await newPage(browser, 'unit-leader');
  await signIn(leader, 'unit-leader');
  check((await leader.locator('#queue-review').innerText()).includes(no), '待审核 on the leader’s desk');
  check((await leader.locator('#sub-unit-load tr[data-unit="scjgj-djk"]').count()) === 1, 'the sections’ load');
  await shot(leader, 'inside-unit-desk');
  await leader.click(`#queue-review a[href="/work/${no}"]`);
  await leader.waitForURL(`${base}/work/${no}`);
  await act(leader, '#do-send-back-reply', { selector: '#send-back-reply-reason', text: '请写明办结时间' });
  log('the unit leader finds it under 待审核 and sends it back with a reason');

  await open(handler, no);
  await act(handler, '#do-reply', { selector: '#reply-content', text: '经核查，登记科已于三个工作日内办结变更登记，请留意短信通知。' });
  await open(leader, no);
  await act(leader, '#do-approve-reply');
  check((await leader.locator('#state-label').innerText()).trim() === '已答复', 'replied once approved');
  await shot(leader, 'inside-unit-approved');
  const progress = await publicTimeline(no, code);
  const replies = progress.timeline.filter((s) => s.kind === 'replied');
  check(replies.length === 1 && replies[0].comment.includes('请留意短信通知'), 'one reply, the approved one');
  assertNothingInside(progress, ['登记科：', '请写明办结时间', '已办结。']);
  log('the leader approves the second draft; the asker sees that reply and nothing from inside the unit');
}

async function cosign(browser) {
  const admin = await login('admin');
  await api('POST', '/api/v1/admin/users', admin, { username: 'swj-handler', display_name: '承办人 周文斌', role: 'handler', unit: 'swj', password });
  const { no, code } = await dispatched(['guzhen', 'swj']);
  log(`${no} is dispatched to 市市场监管局 with 古镇镇 and 市商务局 co-handling`);

  const handler = await newPage(browser, 'handler');
  await signIn(handler, 'handler');
  await open(handler, no);
  await act(handler, '#do-sign');
  await handler.fill('#reply-content', '经三部门会商，已责令商户限期办理。');
  expectRefusal(409, `/work/${no}/reply`);
  await Promise.all([handler.waitForEvent('framenavigated'), handler.click('#do-reply')]);
  const refusal = (await handler.locator('#reply-error').innerText());
  check(refusal.includes('协办单位未提交会签意见'), `refused while parts are missing: ${refusal}`);
  check((await handler.locator('#reply-content').inputValue()).includes('已责令'), 'the draft is kept');
  check((await handler.locator('#co-answers li[data-answered="no"]').count()) === 2, 'both parts missing');
  log('the lead’s reply is refused while both co-units’ parts are missing, the draft kept');

  for (const [user, text] of [['town-handler', '古镇镇：已上门核实，商户正在补办。'], ['swj-handler', '市商务局：该商户不涉及外资备案。']]) {
    const page = await newPage(browser, user);
    await signIn(page, user);
    await open(page, no);
    check(await page.locator('#do-reply').count() === 0, `${user} cannot reply to the asker`);
    await act(page, '#do-co-answer', { selector: '#co-answer-content', text });
    check((await page.locator('#co-answers').innerText()).includes(text), `${user}'s part is listed`);
    log(`${user} gives its part on its page`);
  }

  await open(handler, no);
  check((await handler.locator('#co-answers li[data-answered="yes"]').count()) === 2, 'both parts in');
  await shot(handler, 'inside-unit-cosign');
  await act(handler, '#do-reply', { selector: '#reply-content', text: '经三部门会商，已责令商户限期办理。' });
  check((await handler.locator('#state-label').innerText()).trim() === '已答复', 'replied');
  assertNothingInside(await publicTimeline(no, code), ['已上门核实', '外资备案']);
  log('with both parts in, the lead replies; the parts stay inside');
}

run(`inside-unit-${which}`, which === 'cosign' ? cosign : review);
