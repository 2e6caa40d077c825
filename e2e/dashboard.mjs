// The leader dashboard and the supervisor's page in a real browser (Debian's
// Chromium driven by playwright-core): a few requests are made through the
// API, a city leader opens /dashboard, the charts render, a click on a unit's
// bar lands on the list of that unit's requests; the supervisor opens
// /supervise; the dashboard is also opened on a phone.
//
//   node e2e/dashboard.mjs http://127.0.0.1:8080
//
// Screenshots go to target/screenshots/ (dashboard, dashboard-drilldown,
// supervise, dashboard-phone). Any console error (a CSP violation included),
// page error or failed request fails it.

import { base, check, log, newPage, password, run, shot, signIn } from './harness.mjs';

/// Calls the API as a program would; answers the parsed JSON.
async function api(method, path, body, cookie) {
  const headers = { 'content-type': 'application/json' };
  if (cookie) headers.cookie = cookie;
  const res = await fetch(`${base}${path}`, { method, headers, body: body ? JSON.stringify(body) : undefined });
  const json = await res.json().catch(() => null);
  check(res.ok, `${method} ${path}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return { json, res };
}

async function apiLogin(username) {
  const { res } = await api('POST', '/api/v1/auth/login', { username, password });
  return (res.headers.get('set-cookie') || '').split(';')[0];
}

function request(kind, category, town, title) {
  return {
    kind,
    asker: { type: 'resident' },
    contact: { name: '陈嘉欣', phone: '13800138000' },
    title,
    content: `${title}，请尽快处理。`,
    category,
    town,
  };
}

/// Three requests received today; the first goes to 市场监管局 (scjgj).
async function seed() {
  const made = [];
  for (const r of [
    request('complaint', 'biz.change', 'guzhen', '营业执照变更迟迟未办结'),
    request('complaint', 'biz.change', 'guzhen', '门店招牌审批进度'),
    request('consultation', 'social.pension', 'xiaolan', '咨询养老保险转移'),
  ]) {
    made.push((await api('POST', '/api/v1/public/requests', r)).json.tracking_no);
  }
  const dispatcher = await apiLogin('dispatcher');
  await api('POST', `/api/v1/requests/${made[0]}/dispatch`, { lead_unit: 'scjgj' }, dispatcher);
  log(`made ${made.join(', ')}; dispatched ${made[0]}`);
  return made;
}

async function chartsRendered(page) {
  for (const id of ['trend', 'units', 'towns', 'kinds', 'categories']) {
    await page.locator(`#chart-${id}[data-rendered="true"] canvas`).first().waitFor();
  }
}

/// Clicks the middle of the bar of series 0 (受理量) for the category `name` of a horizontal bar chart.
async function clickBar(page, chartId, name) {
  const point = await page.evaluate(([id, label]) => {
    const el = document.getElementById(`chart-${id}`);
    const chart = window.echarts.getInstanceByDom(el);
    const option = chart.getOption();
    const index = option.yAxis[0].data.indexOf(label);
    if (index < 0) return null;
    // The laid-out rectangle of the bar (ECharts' own layout, not a guess).
    const rect = chart.getModel().getSeriesByIndex(0).getData().getItemLayout(index);
    const [x, y] = [rect.x + rect.width / 2, rect.y + rect.height / 2];
    const box = el.getBoundingClientRect();
    return { x: box.left + x, y: box.top + y };
  }, [chartId, name]);
  check(point, `a bar for ${name} in ${chartId}`);
  await page.mouse.click(point.x, point.y);
}

async function dashboard(browser, made) {
  const leader = await newPage(browser, 'leader', { viewport: { width: 1280, height: 900 } });
  await signIn(leader, 'leader');
  check(await leader.locator('header nav a[href="/dashboard"]').isVisible(), 'the leader has the dashboard in the navigation');
  await leader.goto(`${base}/dashboard`);
  await chartsRendered(leader);
  check((await leader.locator('#period-received').textContent()).trim() === '3', 'three received this month');
  check((await leader.locator('#table-units').textContent()).includes('市市场监管局'), 'the unit table lists 市市场监管局');
  await leader.locator('#units-heading').scrollIntoViewIfNeeded();
  await shot(leader, 'dashboard');
  log('the leader sees the dashboard');

  await leader.locator('#chart-units').scrollIntoViewIfNeeded();
  await Promise.all([leader.waitForURL(/\/work\?lead_unit=scjgj&from=\d{4}-\d\d-\d\d&to=\d{4}-\d\d-\d\d$/), clickBar(leader, 'units', '市市场监管局')]);
  const listed = await leader.locator('#queue-results a.queue-item .no').allTextContents();
  check(listed.length === 1 && listed[0].trim() === made[0], `the drill-down lists ${made[0]} only: ${listed}`);
  await shot(leader, 'dashboard-drilldown');
  log('a click on the unit bar lists its requests');

  const phone = await newPage(browser, 'leader-phone', { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
  await signIn(phone, 'leader');
  await phone.goto(`${base}/dashboard`);
  await chartsRendered(phone);
  const overflow = await phone.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  check(overflow <= 1, `the dashboard fits a phone (${overflow}px too wide)`);
  await shot(phone, 'dashboard-phone');
  log('the dashboard fits a phone');
}

async function supervise(browser, made) {
  const supervisor = await newPage(browser, 'supervisor', { viewport: { width: 1280, height: 900 } });
  await signIn(supervisor, 'supervisor');
  await Promise.all([supervisor.waitForURL(`${base}/supervise`), supervisor.locator('header nav a[href="/supervise"]').click()]);
  await supervisor.locator('#scores-table').waitFor();
  check((await supervisor.locator('#scores-table tbody tr').first().textContent()).includes('全市'), 'the scoring table starts with the city');
  check(await supervisor.locator('#scores-xlsx').isVisible(), 'the Excel export is linked');
  await shot(supervisor, 'supervise');
  log(`the supervisor sees the supervision page (${made.length} requests made)`);
}

run('dashboard', async (browser) => {
  const made = await seed();
  await dashboard(browser, made);
  await supervise(browser, made);
});
