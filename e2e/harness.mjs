// What every browser script shares: the server's address and the staff
// password from the command line and E2E_PASSWORD, Debian's Chromium with
// the flags CI needs, traps that fail the run on any console error, page
// error, failed request or HTTP error, screenshots into target/screenshots/,
// and the sign-in and form helpers.

import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const base = (process.argv[2] || 'http://127.0.0.1:8080').replace(/\/$/, '');
export const password = process.env.E2E_PASSWORD || 'mashangban-demo';
const shots = fileURLToPath(new URL('../target/screenshots/', import.meta.url));
const RUN_TIMEOUT_MS = 150_000;
const STEP_TIMEOUT_MS = 15_000;

const problems = [];
const started = Date.now();
/// Refusals a story provokes on purpose: each `{status, path}` excuses one such response.
const expected = [];

/// Excuses the next HTTP `status` answered for a URL ending in `path` (a refusal the story checks on its
/// page), and the console error Chromium logs for it.
export function expectRefusal(status, path) {
  expected.push({ status, path }, { status, console: true });
}

function excuse(test) {
  const i = expected.findIndex(test);
  if (i >= 0) expected.splice(i, 1);
  return i >= 0;
}

export function log(message) {
  console.log(`  ✓ ${message} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
}

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

function watch(page, who) {
  page.on('console', (msg) => {
    if (msg.type() === 'error' && excuse((e) => e.console && msg.text().includes(`status of ${e.status}`))) return;
    if (msg.type() === 'error') problems.push(`${who}: console error: ${msg.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`${who}: page error: ${err.message}`));
  page.on('requestfailed', (req) => {
    const reason = req.failure()?.errorText || '';
    // An event stream (progress, the header's inbox count) is cut when its page goes away, and a script's
    // fetch still in flight (a suggestion, a look-up as one types) is dropped when the page navigates or the
    // script aborts it for a newer one: the browser aborted them, not the server. A server's failure is an
    // HTTP status (below) or another network error.
    const aborted = reason.includes('ERR_ABORTED');
    if (aborted && (/\/events(\?|$)/.test(req.url()) || ['fetch', 'xhr'].includes(req.resourceType()))) return;
    problems.push(`${who}: request failed: ${req.method()} ${req.url()} ${reason}`);
  });
  page.on('response', (res) => {
    if (excuse((e) => e.path && e.status === res.status() && new URL(res.url()).pathname.endsWith(e.path))) return;
    if (res.status() >= 400) problems.push(`${who}: HTTP ${res.status()} for ${res.request().method()} ${res.url()}`);
  });
  page.setDefaultTimeout(STEP_TIMEOUT_MS);
}

/// Saves a full-page screenshot. Chromium's capture now and then refuses with "Unable to capture screenshot"
/// while the compositor is busy (seen once in CI on a loaded machine): the capture is tried again after a
/// pause, and a viewport capture is the last resort, so a picture taken for the record does not fail a story
/// whose checks passed. Only when every capture fails does the run fail.
export async function shot(page, name) {
  const path = `${shots}${name}.png`;
  let last;
  for (const fullPage of [true, true, true, false]) {
    try {
      await page.screenshot({ path, fullPage });
      if (!fullPage) console.log(`  (screenshot ${name}: the full page could not be captured; the viewport was)`);
      return;
    } catch (err) {
      last = err;
      await page.waitForTimeout(300);
    }
  }
  throw last;
}

/// A page in a fresh browser context (its own cookies), watched for problems.
export async function newPage(browser, who, options) {
  const context = await browser.newContext({ locale: 'zh-CN', timezoneId: 'Asia/Shanghai', ...options });
  const page = await context.newPage();
  watch(page, who);
  return page;
}

/// Signs in with the keyboard only.
export async function signIn(page, username) {
  await page.goto(`${base}/login`);
  await page.locator('#username').focus();
  await page.keyboard.type(username);
  await page.keyboard.press('Tab');
  await page.keyboard.type(password);
  await Promise.all([page.waitForURL(`${base}/work`), page.keyboard.press('Enter')]);
}

/// Submits a form by its button (after filling one field, if given) and
/// waits for the page it leads to; a refusal shown on that page fails.
export async function act(page, button, fill) {
  if (fill) await page.fill(fill.selector, fill.text);
  await Promise.all([page.waitForEvent('framenavigated'), page.click(button)]);
  await page.waitForLoadState();
  const refused = page.locator('.notice.error');
  if (await refused.count()) throw new Error(`${button} was refused: ${await refused.first().textContent()}`);
}

/// Runs `story(browser)` in Chromium; exits 1 on a failure, a problem or a timeout.
export async function run(name, story) {
  mkdirSync(shots, { recursive: true });
  const timer = setTimeout(() => {
    console.error(`${name}: timed out after ${RUN_TIMEOUT_MS / 1000} s`);
    process.exit(1);
  }, RUN_TIMEOUT_MS);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  let failed = false;
  try {
    await story(browser);
  } catch (err) {
    failed = true;
    console.error(`${name} failed: ${err.stack || err}`);
  } finally {
    await browser.close();
    clearTimeout(timer);
  }
  for (const p of problems) console.error(`problem: ${p}`);
  if (failed || problems.length) process.exit(1);
  console.log(`${name} passed; screenshots in ${shots}`);
}

/// POSTs a JSON body, signed in (`cookie`, from `apiSession`) or not; an HTTP error fails the run.
export async function postJson(path, cookie, body) {
  const res = await fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(cookie ? { cookie } : {}) },
    body: JSON.stringify(body),
  });
  const answer = await res.json();
  check(res.ok, `${path}: HTTP ${res.status} ${JSON.stringify(answer)}`);
  return { answer, res };
}

/// Signs in through the API; the session cookie for `postJson`.
export async function apiSession(username) {
  const { res } = await postJson('/api/v1/auth/login', null, { username, password });
  return (res.headers.get('set-cookie') || '').split(';')[0];
}
