// An enterprise account on the portal in a real browser (Debian's Chromium
// driven by playwright-core): the demo enterprise signs in, the portal knows
// it (我的诉求 in the header), /submit comes prefilled with its credit code,
// name and phone, the category is picked from the suggestions offered as the
// text is typed, the request is in 我的诉求; once staff have answered and
// closed it, the account rates the answer and asks for reopening from the
// request's page, and the history says the enterprise did both.
//
//   node e2e/accounts.mjs http://127.0.0.1:8080
//
// Screenshots go to target/screenshots/ (account-submit, account-mine,
// account-rated). Any console error, page error or failed request fails it.

import { act, apiSession, base, check, log, newPage, postJson, run, shot, signIn } from './harness.mjs';

async function submitAsTheAccount(page) {
  await page.goto(`${base}/`);
  const header = page.locator('header');
  check(await header.getByRole('link', { name: '我的诉求' }).isVisible(), 'the portal header offers 我的诉求');
  await Promise.all([page.waitForURL(`${base}/submit`), page.getByRole('link', { name: '提交诉求' }).first().click()]);
  check(await page.locator('#account-banner').isVisible(), 'the form says whose account');
  const code = await page.locator('#credit_code').inputValue();
  check(/^91442000[0-9A-Z]{10}$/.test(code), `prefilled credit code ${code}`);
  check((await page.locator('#enterprise_name').inputValue()).length > 0, 'prefilled enterprise name');
  check((await page.locator('#phone').inputValue()) === '13926000001', 'prefilled with the account\'s phone');
  // The demo enterprise has no registry record naming its contact: the person is typed.
  if (!(await page.locator('#contact_name').inputValue())) await page.getByLabel('联系人').fill('梁志华');
  await page.getByLabel('诉求类型').selectOption('complaint');
  await page.getByLabel('标题').fill('营业执照经营范围变更迟迟未办');
  await page.getByLabel('内容').fill('我司提交法定代表人和经营范围变更申请已三周，至今未办结，请尽快办理。');
  // The category, picked from what the words point to.
  const suggestion = page.locator('#category-suggestions button[data-category="biz.change"]');
  await suggestion.waitFor();
  await suggestion.click();
  check((await page.getByLabel('分类').inputValue()) === 'biz.change', 'the suggestion filled in 分类');
  await shot(page, 'account-submit');
  await Promise.all([page.waitForURL(/\/submitted\/ZS\d+/), page.getByRole('button', { name: '提交诉求' }).click()]);
  const no = (await page.locator('#tracking-no').textContent()).trim();
  check(/^ZS\d{14}$/.test(no), `tracking number ${no}`);
  log(`the enterprise submitted ${no} prefilled, its category from the suggestions`);
  return no;
}

async function answerAndClose(no) {
  const [dispatcher, handler] = [await apiSession('dispatcher'), await apiSession('handler')];
  await postJson(`/api/v1/requests/${no}/dispatch`, dispatcher, { lead_unit: 'scjgj' });
  await postJson(`/api/v1/requests/${no}/sign`, handler, {});
  await postJson(`/api/v1/requests/${no}/reply`, handler, { content: '经核实，变更材料已补齐，正在办理。' });
  await postJson(`/api/v1/requests/${no}/close`, dispatcher, {});
  log('staff dispatched, answered and closed it');
}

run('accounts', async (browser) => {
  const page = await newPage(browser, 'enterprise');
  await signIn(page, 'enterprise');
  const no = await submitAsTheAccount(page);

  await page.goto(`${base}/work?queue=mine`);
  const mine = page.locator('#queue-mine');
  await mine.getByText(no).waitFor();
  await shot(page, 'account-mine');
  log('it is listed in 我的诉求');

  await answerAndClose(no);
  await Promise.all([page.waitForURL(`${base}/work/${no}`), mine.getByText(no).first().click()]);
  check(await page.getByRole('heading', { name: '评价办理结果' }).isVisible(), 'the account may rate the answer');
  await page.getByLabel('不满意', { exact: true }).check();
  await page.getByLabel('未解决', { exact: true }).check();
  await page.getByLabel('意见（可选）').fill('变更仍未办结');
  await act(page, '#do-follow-up');
  check(!(await page.locator('#do-follow-up').count()), 'rated once');
  await act(page, '#do-request-reopen', { selector: '#request-reopen-reason', text: '企业仍无法办理变更，请重办' });
  check(!(await page.locator('#do-request-reopen').count()), 'asked once');
  const rated = await page.locator('tr[data-kind="followed_up"]').innerText();
  const asked = await page.locator('tr[data-kind="reopen_requested"]').innerText();
  check(rated.includes('变更仍未办结') && rated.includes('灯饰'), `the rating, by the enterprise, in the history: ${rated}`);
  check(asked.includes('企业仍无法办理变更'), `the reopen request in the history: ${asked}`);
  await shot(page, 'account-rated');
  log('the account rated the answer and asked for reopening from its page');
});
