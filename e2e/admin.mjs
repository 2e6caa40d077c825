// The administrator and the knowledge base in a real browser (Debian's
// Chromium driven by playwright-core): the admin signs in, visits every
// 系统管理 page, changes a time-limit rule in the form and adds a standard answer; on 通知模板 the admin
// saves a template's words twice, finds both under 版本记录 and restores the earlier one (恢复此版本),
// which is back in the editor; then an operator takes a
// consultation call in the console, picks the suggested standard answer while
// typing and closes the call directly (直接办结) with it.
//
//   node e2e/admin.mjs http://127.0.0.1:8080
//
// Staff sign in with the demo password (E2E_PASSWORD, default mashangban-demo).
// Screenshots go to target/screenshots/. Any console error, page error,
// failed request or HTTP error fails it.

import { act, base, check, log, newPage, run, shot, signIn } from './harness.mjs';

const ARTICLE = {
  title: '港澳台居民居住证怎么申领',
  body: '港澳台居民在本市居住半年以上，符合有合法稳定就业、合法稳定住所、连续就读条件之一的，可携带港澳居民来往内地通行证或台湾居民来往大陆通行证，到居住地派出所申领居住证，20个工作日内制证。',
  keywords: '港澳台，居住证，来往内地通行证',
};

async function adminTour(browser) {
  const admin = await newPage(browser, 'admin', { viewport: { width: 1280, height: 900 } });
  await signIn(admin, 'admin');
  await admin.click('header nav >> text=系统管理');
  await admin.waitForURL(`${base}/admin/org`);
  check(await admin.locator('#units li').count() > 20, 'the org tree lists the city');
  await shot(admin, 'admin-org');
  log('org tree');

  const pages = [
    ['用户与角色', '/admin/users', '#users tbody tr', 'admin-users'],
    ['事项分类与派单目录', '/admin/categories', '#categories tbody tr', 'admin-categories'],
    ['时限规则', '/admin/rules', '#rules tbody tr', 'admin-rules'],
    ['工作日历', '/admin/calendar', '#years tbody tr', 'admin-calendar'],
  ];
  for (const [tab, path, rows, name] of pages) {
    await Promise.all([admin.waitForURL(`${base}${path}`), admin.click(`nav.tabs >> text=${tab}`)]);
    check(await admin.locator(rows).count() > 0, `${tab} shows its rows`);
    await shot(admin, name);
    log(tab);
  }

  // 时限规则 in the form: the base rule's reply limit changed, published as a new version.
  await admin.goto(`${base}/admin/rules`);
  const version = Number(await admin.locator('#rules-version').textContent());
  await admin.fill('[name="r0_reply_amount"]', '12');
  await act(admin, '#do-publish');
  check((await admin.locator('#notice').textContent()).includes('新版本时限规则已发布'), 'the rules are published');
  check(Number(await admin.locator('#rules-version').textContent()) === version + 1, 'as a new version');
  check((await admin.locator('[name="r0_reply_amount"]').inputValue()) === '12', 'with the value typed');
  log('time-limit rule changed in the form');

  // A post larger than the server takes is stopped in the page, the text typed kept, nothing sent.
  await admin.locator('#advanced summary').click();
  const huge = '[' + '{"kind":"help"},'.repeat(40000) + '{"kind":"help"}]';
  await admin.fill('#rules-json', huge);
  const before = admin.url();
  await admin.click('#do-publish-json');
  const tooLarge = admin.locator('#publish-rules .form-too-large');
  await tooLarge.waitFor();
  check((await tooLarge.textContent()).includes('填写的内容过长'), 'the reason beside the form');
  check(admin.url() === before, 'the page stays');
  check((await admin.locator('#rules-json').inputValue()).length === huge.length, 'what was typed is kept');
  check(Number(await admin.locator('#rules-version').textContent()) === version + 1, 'nothing published');
  log('an over-large post is stopped in the page');

  await Promise.all([admin.waitForURL(`${base}/admin/knowledge`), admin.click('nav.tabs >> text=知识库')]);
  await admin.fill('#article-title', ARTICLE.title);
  await admin.fill('#article-body', ARTICLE.body);
  await admin.selectOption('#article-category', 'security.residence');
  await admin.fill('#article-keywords', ARTICLE.keywords);
  await act(admin, '#create-article');
  check(/\/admin\/knowledge\/\d+/.test(admin.url()), `went to the new article (${admin.url()})`);
  check((await admin.locator('#revisions li').count()) === 1, 'its first version is recorded');
  await Promise.all([admin.waitForURL(`${base}/admin/knowledge`), admin.click('nav.tabs >> text=知识库')]);
  check((await admin.locator('#articles li').count()) >= 7, 'the seeded answers and the new one');
  await shot(admin, 'admin-knowledge');
  log('standard answer added');
  await admin.context().close();
}

/// 通知模板: two saves are two versions under 版本记录; restoring the earlier one puts its words back in the
/// editor as the newest version.
async function templateVersions(browser) {
  const admin = await newPage(browser, 'admin', { viewport: { width: 1280, height: 900 } });
  await signIn(admin, 'admin');
  await admin.goto(`${base}/admin`);
  await Promise.all([admin.waitForURL(`${base}/admin/notifications`), admin.click('nav.tabs >> text=通知模板')]);
  const anchor = 'asker.accepted-sms';
  const editor = `[id="body-${anchor}"]`;
  const save = `[id="form-${anchor}"] button[type=submit]`;
  const versions = admin.locator(`[id="versions-${anchor}"]`);
  const rows = versions.locator('tbody tr');
  check(await rows.count() === 0, 'the built-in words: no version yet');
  const builtIn = await admin.locator(editor).inputValue();
  const earlier = `${builtIn}如有疑问请回复本短信。`;
  const later = `${builtIn}办理进度可随时在网上查询。`;

  for (const words of [earlier, later]) {
    await act(admin, save, { selector: editor, text: words });
    check((await admin.locator('#notice').textContent()).includes('通知模板已保存'), 'saved');
    check(await admin.locator(editor).inputValue() === words, 'the editor shows the words saved');
  }
  await versions.locator('summary').first().click();
  check(await rows.count() === 2, `two saves, two versions: ${await rows.count()}`);
  check((await versions.locator('summary').first().textContent()).includes('最近 2 个'), 'the heading counts them');
  check((await rows.nth(0).textContent()).includes(later) && (await rows.nth(0).textContent()).includes('当前'), 'the newest is in force');
  check((await rows.nth(1).textContent()).includes(earlier), 'the earlier one below it');
  check(await rows.nth(0).locator('form').count() === 0, 'the version in force has nothing to restore');
  await rows.nth(1).locator('summary').click();
  await shot(admin, 'admin-notification-versions');
  log('two saves of a template are two versions under 版本记录');

  await act(admin, `#${await rows.nth(1).locator('form').getAttribute('id')} button`);
  check(admin.url().endsWith(`/admin/notifications?ok=template-restored#${anchor}`), `back at the template: ${admin.url()}`);
  check((await admin.locator('#notice').textContent()).includes('已恢复所选版本'), 'the notice says so');
  check(await admin.locator(editor).inputValue() === earlier, 'the editor shows the earlier words again');
  check(await rows.count() === 3, 'the restore is itself a version');
  check((await rows.nth(0).textContent()).includes(earlier), 'the newest version holds the earlier words');
  log('the earlier version restored: its words are in the editor again');
  await admin.context().close();
}

async function operatorCall(browser) {
  const operator = await newPage(browser, 'operator', { viewport: { width: 1280, height: 900 } });
  await signIn(operator, 'operator');
  await operator.goto(`${base}/console`);
  await operator.fill('#phone', '13800138000');
  await operator.fill('#contact_name', '陈美玲');
  await operator.selectOption('#category', 'security.residence');
  await operator.fill('#title', '港澳居民怎么办居住证');
  await operator.fill('#content', '来电人是香港居民，在火炬开发区工作，询问居住证怎么申领。');
  const suggestion = operator.locator('#suggestions button', { hasText: ARTICLE.title });
  await suggestion.waitFor();
  await suggestion.click();
  check((await suggestion.getAttribute('aria-pressed')) === 'true', 'the suggestion is picked');
  check((await operator.locator('#suggestions .preview').textContent()).includes('20个工作日内制证'), 'its text is shown');
  await shot(operator, 'console-knowledge');
  log('suggested standard answer picked while typing');

  await act(operator, '#do-intake');
  const answer = await operator.locator('#direct-close-answer').inputValue();
  check(answer.startsWith(ARTICLE.body) && /【标准答复 #\d+ 第1版】$/.test(answer), `the answer is filled with the article (${answer})`);
  const no = (await operator.locator('#done-no').textContent()).trim();
  await act(operator, '#do-direct-close');
  check(operator.url().endsWith(`/work/${no}`), 'back to the request');
  check((await operator.locator('table.history tr[data-kind="directly_closed"]').textContent()).includes('【标准答复 #'), 'the history cites the answer');
  log(`consultation ${no} closed directly with the standard answer`);
  await operator.context().close();
}

/// On a phone screen no admin page is wider than the screen (wide tables scroll inside their box).
async function phoneWidth(browser) {
  const phone = await newPage(browser, 'admin on a phone', { viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
  await signIn(phone, 'admin');
  for (const path of ['/admin/org', '/admin/users', '/admin/categories', '/admin/rules', '/admin/calendar', '/admin/knowledge']) {
    await phone.goto(`${base}${path}`);
    const [scroll, width] = await phone.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    check(scroll <= width, `${path} is ${scroll}px wide on a ${width}px screen`);
  }
  await shot(phone, 'admin-knowledge-phone');
  log('every admin page fits a phone screen');
  await phone.context().close();
}

async function story(browser) {
  await adminTour(browser);
  await templateVersions(browser);
  await phoneWidth(browser);
  await operatorCall(browser);
}

run('admin story', story);
