// End-to-end test of the web UI against two real nodes: starts two `rookery serve --http`
// processes (A and B) in temporary data directories, drives both UIs in headless Chromium,
// and checks the social loop (names, follow by ticket, live posts, mentions and the unread
// badge, replies in a thread seen on both sides) plus the safety of untrusted post text and
// the API's token check.
//
//   npm run e2e        (needs ../target/debug/rookery, `npm run build`, and /usr/bin/chromium)
//
// Environment: ROOKERY_BIN (default ../target/debug/rookery), CHROMIUM (default
// /usr/bin/chromium), E2E_TIMEOUT_MS (per wait, default 90000), E2E_HEADFUL=1 to watch.
// Screenshots of A's Home, Thread and Notifications go to e2e/out/ (1280×800).
// Ends with a line "N passed, M failed"; exits non-zero on any failure. Servers are always
// killed, temporary directories removed.

import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const UI = resolve(HERE, '..');
const BIN = process.env.ROOKERY_BIN ?? resolve(UI, '../target/debug/rookery');
/** The hostile peer with a scripted SVG avatar (crates/testkit), beside the rookery binary. */
const HOSTILE = process.env.HOSTILE_BIN ?? join(dirname(BIN), 'rookery-hostile-avatar');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const DIST = join(UI, 'dist');
const OUT = join(HERE, 'out');
const WAIT = Number(process.env.E2E_TIMEOUT_MS ?? 90_000);
const URL_RE = /http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]+/;

const results = [];
const servers = [];
const tmpDirs = [];
let browser = null;
/** Problems seen outside the steps (dialogs, CSP violations, page errors), by page name. */
const incidents = [];

function log(msg) {
  process.stdout.write(`${msg}\n`);
}

/** Runs one named step; a failure is recorded and later steps that need it are skipped. */
async function step(name, fn) {
  const t0 = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    log(`  ✓ ${name} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
    return true;
  } catch (e) {
    const msg = e instanceof Error ? e.message.split('\n').slice(0, 6).join('\n      ') : String(e);
    results.push({ name, ok: false, msg });
    log(`  ✗ ${name}\n      ${msg}`);
    return false;
  }
}

/** `step`, or a recorded failure when a step it depends on failed. */
async function stepIf(cond, name, fn) {
  if (cond) return step(name, fn);
  results.push({ name, ok: false, msg: 'not run: a step it depends on failed' });
  log(`  ✗ ${name}\n      not run: a step it depends on failed`);
  return false;
}

function fail(msg) {
  throw new Error(msg);
}

/** Starts `rookery serve --http` in a fresh data dir and resolves with its UI address. */
function startServer(label) {
  const dir = mkdtempSync(join(tmpdir(), `rookery-e2e-${label}-`));
  tmpDirs.push(dir);
  const args = ['--data-dir', dir, '--offline', '--bind', '127.0.0.1:0', 'serve', '--http', '127.0.0.1:0', '--ui', DIST];
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: process.env.RUST_LOG ?? 'warn' } });
  servers.push({ label, child });
  let out = '';
  let err = '';
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${label}: no URL printed within 60 s.\nstdout: ${out}\nstderr: ${err.slice(-2000)}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = URL_RE.exec(out);
      if (m) {
        clearTimeout(timer);
        res({ url: m[0], origin: new URL(m[0]).origin, token: m[0].split('#token=')[1], dir });
      }
    });
    child.stderr.on('data', (d) => {
      err += d;
      if (err.length > 100_000) err = err.slice(-50_000);
    });
    child.on('exit', (code, sig) => {
      clearTimeout(timer);
      rej(new Error(`${label}: rookery exited (${code ?? sig}) before printing its URL.\nstderr: ${err.slice(-2000)}`));
    });
  });
}

/** Starts the hostile peer with a scripted SVG avatar; resolves with its key and ticket. */
function startHostile() {
  const dir = mkdtempSync(join(tmpdir(), 'rookery-e2e-hostile-'));
  tmpDirs.push(dir);
  const child = spawn(HOSTILE, ['--data-dir', dir], { stdio: ['ignore', 'pipe', 'pipe'] });
  servers.push({ label: 'hostile', child });
  let out = '';
  return new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`the hostile peer printed no ticket within 60 s: ${out}`)), 60_000);
    child.stdout.on('data', (d) => {
      out += d;
      const key = /key: ([0-9a-f]{64})/.exec(out);
      const ticket = /ticket: ([a-z0-9]+)/.exec(out);
      if (key && ticket) {
        clearTimeout(timer);
        res({ key: key[1], ticket: ticket[1] });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`the hostile peer exited (${code}) before printing its ticket: ${out}`));
    });
  });
}

async function stopServers() {
  await Promise.all(
    servers.map(
      ({ child }) =>
        new Promise((res) => {
          if (child.exitCode !== null || child.signalCode !== null) return res();
          const hard = setTimeout(() => child.kill('SIGKILL'), 5000);
          child.once('exit', () => {
            clearTimeout(hard);
            res();
          });
          child.kill('SIGTERM');
        }),
    ),
  );
}

/** A page that records dialogs, CSP violations and uncaught errors as incidents. */
async function openPage(name, url) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
  const page = await context.newPage();
  page.setDefaultTimeout(WAIT);
  page.on('dialog', async (d) => {
    incidents.push(`${name}: a ${d.type()} dialog fired ("${d.message()}") — script ran from post text?`);
    await d.dismiss().catch(() => {});
  });
  page.on('console', (m) => {
    const t = m.text();
    if (/Content Security Policy|Refused to (execute|load|apply|connect)/i.test(t)) incidents.push(`${name}: CSP violation: ${t}`);
  });
  page.on('pageerror', (e) => incidents.push(`${name}: uncaught error in the page: ${e.message}`));
  await page.goto(url);
  // The token must have left the address bar before anything else happens.
  await page.waitForFunction(() => !location.hash.includes('token='), null, { timeout: 10_000 }).catch(() => fail(`${name}: the #token= fragment was not cleared from the address`));
  return page;
}

const go = (page, hash) => page.evaluate((h) => (location.hash = h), hash);

/** Sets the display name through the first-run welcome. */
async function setName(page, name) {
  await page.waitForSelector('[data-testid=welcome-name]', { timeout: 30_000 }).catch(() => fail('the first-run welcome (name field) did not show'));
  await page.fill('[data-testid=welcome-name]', name);
  await page.click('[data-testid=welcome-save]');
  await page.waitForSelector('main h1:text-is("Home")', { timeout: 30_000 }).catch(() => fail('Home did not show after saving the name'));
}

async function myTicket(page) {
  await go(page, '#/follow');
  const el = await page.waitForSelector('[data-testid=my-ticket]', { timeout: 30_000 });
  const t = (await el.textContent())?.trim() ?? '';
  if (!/^[a-z0-9]{40,}$/.test(t)) fail(`the ticket on the Follow view looks wrong: "${t}"`);
  return t;
}

/** Runs an API command as the UI does: `POST /api/{command}`, JSON arguments, bearer token. */
async function call(node, command, args = {}) {
  const r = await fetch(`${node.origin}/api/${command}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${node.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
  if (!r.ok) fail(`POST /api/${command} with the token answered ${r.status}: ${await r.text()}`);
  return r.json();
}

async function follow(page, ticket, whoKey) {
  await go(page, '#/follow');
  await page.fill('[data-testid=follow-input]', ticket);
  const help = await page.textContent('[data-testid=follow-help]');
  if (!/ticket/i.test(help ?? '')) fail(`the pasted ticket was not recognised as one (help text: "${help}")`);
  await page.click('[data-testid=follow-submit]');
  await page
    .waitForFunction((k) => location.hash === `#/profile/${k}`, whoKey, { timeout: 30_000 })
    .catch(async () => fail(`following did not open the profile; toasts: ${await toastsText(page)}`));
}

async function toastsText(page) {
  return (await page.locator('[data-testid^=toast-]').allTextContents().catch(() => [])).join(' | ') || '(none)';
}

/** Posts through the compose modal (the rail's New post button). */
async function post(page, text) {
  await page.click('[data-testid=new-post]');
  const box = page.locator('[data-testid=compose-modal] [data-testid=compose-text]');
  await box.waitFor();
  await box.fill(text);
  await page.click('[data-testid=compose-modal] [data-testid=compose-submit]');
  await page.locator('[data-testid=compose-modal] [data-testid=compose-text]').waitFor({ state: 'detached', timeout: 30_000 }).catch(async () => fail(`the compose dialog did not close after posting; toasts: ${await toastsText(page)}`));
}

/**
 * Waits for a post whose body contains `text` on Home, taking live arrivals in through the
 * "new posts" bar when it shows.
 */
async function waitOnHome(page, text, what) {
  const deadline = Date.now() + WAIT;
  const target = page.locator('[data-testid=post]', { hasText: text });
  while (Date.now() < deadline) {
    if ((await target.count()) > 0) return target.first();
    const bar = page.locator('[data-testid=new-posts-bar]');
    if (await bar.isVisible().catch(() => false)) {
      await bar.click();
      continue;
    }
    await page.waitForFunction(
      (t) => document.querySelector('[data-testid=new-posts-bar]') || [...document.querySelectorAll('[data-testid=post]')].some((p) => p.textContent?.includes(t)),
      text,
      { timeout: 5000 },
    ).catch(() => {});
  }
  fail(`${what} did not appear on Home within ${WAIT / 1000} s`);
}

async function badgeCount(page) {
  const b = page.locator('[data-testid=notif-badge]');
  if ((await b.count()) === 0) return 0;
  return Number((await b.first().textContent())?.trim() || '0');
}

async function main() {
  log('Rookery UI end-to-end');
  if (!existsSync(BIN)) fail(`no rookery binary at ${BIN} (set ROOKERY_BIN)`);
  if (!existsSync(join(DIST, 'index.html'))) fail(`no built UI at ${DIST} (run npm run build)`);
  if (!existsSync(CHROMIUM)) fail(`no Chromium at ${CHROMIUM} (set CHROMIUM)`);
  mkdirSync(OUT, { recursive: true });

  let A, B, pa, pb;
  const stamp = Date.now().toString(36);
  const ok = {};

  ok.start = await step('start two nodes (A and B)', async () => {
    [A, B] = await Promise.all([startServer('A'), startServer('B')]);
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: !process.env.E2E_HEADFUL,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync'].filter(
        (a) => !(process.env.E2E_HEADFUL && a === '--headless'),
      ),
    });
    A.key = (await call(A, 'me')).key;
    B.key = (await call(B, 'me')).key;
  });
  if (!ok.start) return;

  await step('the API refuses a request without the token (401)', async () => {
    const r = await fetch(`${A.origin}/api/me`, { method: 'POST' });
    if (r.status !== 401) fail(`POST /api/me without a token answered ${r.status}, not 401`);
    const r2 = await fetch(`${A.origin}/api/me`, { method: 'POST', headers: { authorization: 'Bearer wrong' } });
    if (r2.status !== 401) fail(`POST /api/me with a wrong token answered ${r2.status}, not 401`);
    const body = await r2.json().catch(() => null);
    if (body?.error?.code !== 'unauthorized') fail(`the 401 answer is not an "unauthorized" error: ${JSON.stringify(body)}`);
  });

  ok.names = await step('A is named "Ada" and B "Bob" through the welcome screen', async () => {
    [pa, pb] = await Promise.all([openPage('A', A.url), openPage('B', B.url)]);
    await Promise.all([setName(pa, 'Ada'), setName(pb, 'Bob')]);
    const me = await call(A, 'me');
    if (me.profile.name !== 'Ada') fail(`A's profile name is ${JSON.stringify(me.profile.name)}, not "Ada"`);
  });
  if (!ok.names) return;

  ok.follow = await step("A follows B by pasting B's ticket from B's Follow view", async () => {
    const ticket = await myTicket(pb);
    await follow(pa, ticket, B.key);
  });

  ok.followers = await stepIf(ok.follow, "B's profile on A lists A among B's followers", async () => {
    await go(pa, `#/profile/${B.key}/followers`);
    await pa.locator('[data-testid=profile-followers] li', { hasText: 'Ada' }).waitFor({ timeout: WAIT }).catch(() => fail("Ada is not among B's followers"));
  });

  ok.followBack = await step("B follows A (so B's mentions and A's replies travel)", async () => {
    const ticket = await myTicket(pa);
    await follow(pb, ticket, A.key);
  });

  const hello = `Hello from Bob ${stamp}`;
  ok.live = await stepIf(ok.follow, "B posts, and the post appears live on A's Home", async () => {
    await go(pa, '#/');
    await pa.waitForSelector('main h1:text-is("Home")');
    await post(pb, hello);
    await waitOnHome(pa, hello, "B's post");
  });

  const mention = `Hi @Ada, this is for you ${stamp}`;
  ok.badge = await stepIf(ok.follow && ok.followBack, "B mentions @Ada, and A's notification badge shows 2 (B's follow, then the mention)", async () => {
    await post(pb, mention);
    await pa.waitForFunction(() => document.querySelector('[data-testid=notif-badge]')?.textContent?.trim() === '2', null, { timeout: WAIT }).catch(async () =>
      fail(`the badge did not reach 2 (it shows ${await badgeCount(pa)})`),
    );
    await waitOnHome(pa, `this is for you ${stamp}`, 'the mention');
    await pa.screenshot({ path: join(OUT, 'home.png') });
  });

  ok.read = await stepIf(ok.badge, 'A opens Notifications, marks all read, and the badge goes', async () => {
    await pa.click('[data-testid=nav-notifications]');
    await pa.waitForSelector('main h1:text-is("Notifications")');
    const item = pa.locator('[data-testid=notification]', { hasText: stamp }).first();
    await item.waitFor({ timeout: WAIT }).catch(() => fail('the mention is not listed in Notifications'));
    if (!/mentioned you/.test((await item.textContent()) ?? '')) fail('the notification does not say "mentioned you"');
    if ((await item.getAttribute('data-read')) !== 'false') fail('the new notification is not shown as unread');
    const followed = pa.locator('[data-testid=notification]', { hasText: 'Bob followed you' }).first();
    await followed.waitFor({ timeout: WAIT }).catch(() => fail('"Bob followed you" is not listed in Notifications'));
    await pa.screenshot({ path: join(OUT, 'notifications.png') });
    await pa.click('[data-testid=mark-all-read]');
    await pa.waitForSelector('[data-testid=notif-badge]', { state: 'detached', timeout: 30_000 }).catch(() => fail('the badge is still there after "Mark all read"'));
    await pa.waitForSelector('[data-testid=notification][data-read=false]', { state: 'detached', timeout: 10_000 }).catch(() => fail('a notification still shows as unread'));
  });

  const replyText = `Thanks Bob, replying in the thread ${stamp}`;
  let threadHash = null;
  ok.reply = await stepIf(ok.read, "A replies in the thread, and the reply shows in A's thread view", async () => {
    await pa.locator('[data-testid=notification]', { hasText: stamp }).first().click();
    await pa.waitForSelector('[data-testid=thread]');
    threadHash = await pa.evaluate(() => location.hash.split('/').slice(0, 3).join('/'));
    const root = pa.locator('[data-testid=thread] [data-testid=post]').first();
    if (!((await root.textContent()) ?? '').includes(stamp)) fail('the thread does not start with the mention');
    await pa.fill('[data-testid=thread] [data-testid=compose-text]', replyText);
    await pa.click('[data-testid=thread] [data-testid=compose-submit]');
    await pa.locator('[data-testid=thread] [data-testid=post]', { hasText: replyText }).waitFor({ timeout: 30_000 }).catch(async () => fail(`the reply is not in A's thread; toasts: ${await toastsText(pa)}`));
    await pa.screenshot({ path: join(OUT, 'thread.png') });
  });

  ok.replyB = await stepIf(ok.reply, "A's reply shows in B's view of the thread", async () => {
    await go(pb, threadHash);
    const deadline = Date.now() + WAIT;
    const target = pb.locator('[data-testid=thread] [data-testid=post]', { hasText: replyText });
    // The thread view re-reads itself as B's node takes in A's feed; if the first read came
    // too early, look again now and then.
    while (!(await target.count())) {
      if (Date.now() > deadline) fail(`the reply did not reach B's thread view within ${WAIT / 1000} s`);
      await target.waitFor({ timeout: 10_000 }).catch(async () => {
        await go(pb, '#/');
        await go(pb, threadHash);
        await pb.waitForSelector('[data-testid=thread]', { timeout: 10_000 }).catch(() => {});
      });
    }
  });

  const xssImg = `<img src=x onerror=alert(1)> ${stamp}-img`;
  const xssLink = `[click](javascript:alert(1)) ${stamp}-link`;
  ok.xss = await stepIf(ok.follow, 'untrusted post text stays text: no script, no img, no javascript: link', async () => {
    await go(pa, '#/');
    await pa.waitForSelector('main h1:text-is("Home")');
    await post(pb, xssImg);
    await post(pb, xssLink);
    const img = await waitOnHome(pa, `${stamp}-img`, 'the <img> post');
    await waitOnHome(pa, `${stamp}-link`, 'the javascript: link post');
    // Give any injected handler a frame and a moment to fire (a broken image errors at once).
    await pa.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r, 300))));
    const body = (await img.locator('[data-testid=post-body]').textContent()) ?? '';
    if (!body.includes('<img src=x onerror=alert(1)>')) fail(`the <img> text is not shown literally (body: "${body}")`);
    const imgs = await pa.locator('[data-testid=post-body] img').count();
    if (imgs) fail(`${imgs} <img> element(s) inside post bodies`);
    const js = await pa.locator('a[href^="javascript:" i]').count();
    if (js) fail(`${js} javascript: link(s) on the page`);
    const dialogs = incidents.filter((i) => /dialog fired/.test(i));
    if (dialogs.length) fail(dialogs.join('; '));
  });

  ok.svg = await stepIf(ok.names, "a peer's SVG avatar with script never runs, however its image is opened", async () => {
    const mallory = await startHostile();
    await follow(pa, mallory.ticket, mallory.key);
    await pa.waitForFunction(() => document.querySelector('main')?.textContent?.includes('Mallory'), null, { timeout: WAIT }).catch(() => fail("the hostile peer's profile did not arrive"));
    const profile = await call(A, 'profile', { key: mallory.key });
    if (!profile.avatar) fail('the hostile profile names no avatar');
    // Asked for the image, the node never hands out the SVG: once the blob is here it is
    // refused as not an image Rookery shows.
    const deadline = Date.now() + WAIT;
    let answer;
    for (;;) {
      const r = await fetch(`${A.origin}/api/blob`, {
        method: 'POST',
        headers: { authorization: `Bearer ${A.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ hash: profile.avatar }),
      });
      const type = r.headers.get('content-type') ?? '';
      if (/svg|xml|html/i.test(type)) fail(`the node served the avatar as ${type}`);
      answer = r.ok ? { ok: true, type } : await r.json();
      if (r.ok || answer?.error?.code !== 'not_found' || Date.now() > deadline) break;
      await new Promise((z) => setTimeout(z, 500));
    }
    if (!answer.ok && answer?.error?.code !== 'bad_data') fail(`unexpected answer for the SVG avatar: ${JSON.stringify(answer)}`);
    // Every image on the page, opened as a page of its own on the app's origin.
    await pa.evaluate(() => new Promise((r) => setTimeout(r, 500)));
    const srcs = await pa.$$eval('img', (imgs) => imgs.map((i) => i.src).filter((s) => s.startsWith('blob:')));
    for (const src of srcs) {
      const other = await pa.context().newPage();
      await other.goto(src).catch(() => {});
      await other.evaluate(() => new Promise((r) => setTimeout(r, 300))).catch(() => {});
      await other.close();
    }
    const pwned = await pa.evaluate(() => localStorage.getItem('pwned') ?? (window.pwned ? 'window' : null));
    if (pwned) fail(`script from the SVG avatar ran on the app's origin (${pwned})`);
  });

  ok.block = await stepIf(ok.live, "A blocks B on B's profile, B's posts leave Home and the profile, and Unblock in Settings brings them back", async () => {
    await go(pa, `#/profile/${B.key}`);
    await pa.waitForSelector('[data-testid=profile-block]', { timeout: WAIT }).catch(() => fail("B's profile shows no Block button"));
    await pa.locator('[data-testid=post]', { hasText: hello }).first().waitFor({ timeout: WAIT }).catch(() => fail("B's post is not on B's profile"));
    await pa.click('[data-testid=profile-block]');
    await pa.click('[data-testid=confirm-ok]');
    await pa.waitForSelector('[data-testid=profile-unblock]', { timeout: 30_000 }).catch(async () => fail(`no Unblock button after blocking; toasts: ${await toastsText(pa)}`));
    await pa.waitForSelector(`[data-testid=post]:has-text("${hello}")`, { state: 'detached', timeout: 10_000 }).catch(() => fail("B's post is still on B's profile after the block"));
    await go(pa, '#/');
    await pa.waitForSelector('main h1:text-is("Home")');
    await pa.evaluate(() => new Promise((r) => setTimeout(r, 300)));
    if (await pa.locator('[data-testid=post]', { hasText: hello }).count()) fail("B's post is still on Home after the block");
    await go(pa, '#/settings');
    const row = pa.locator('[data-testid=settings-blocked] li', { hasText: 'Bob' });
    await row.waitFor({ timeout: 30_000 }).catch(() => fail('Settings does not list Bob as blocked'));
    await row.scrollIntoViewIfNeeded();
    await pa.screenshot({ path: join(OUT, 'blocked.png') });
    await row.locator('[data-testid=settings-unblock]').click();
    await pa.locator('[data-testid=settings-blocked]', { hasText: 'You have blocked no one.' }).waitFor({ timeout: 30_000 }).catch(async () => fail(`Bob is still listed as blocked; toasts: ${await toastsText(pa)}`));
    await go(pa, '#/');
    await pa.waitForSelector('main h1:text-is("Home")');
    await waitOnHome(pa, hello, "B's post, after the unblock");
    const profile = await call(A, 'profile', { key: B.key });
    if (profile.blocked_by_me) fail('the API still says B is blocked');
  });

  ok.mute = await stepIf(ok.live, "A mutes B on B's profile, B's posts leave Home, and Unmute in Settings brings them back", async () => {
    await go(pa, `#/profile/${B.key}`);
    await pa.waitForSelector('[data-testid=profile-mute]', { timeout: WAIT }).catch(() => fail("B's profile shows no Mute button"));
    await pa.click('[data-testid=profile-mute]');
    await pa.waitForSelector('[data-testid=profile-muted]', { timeout: 30_000 }).catch(async () => fail(`B is not shown as muted; toasts: ${await toastsText(pa)}`));
    await go(pa, '#/');
    await pa.waitForSelector('main h1:text-is("Home")');
    await pa.waitForSelector(`[data-testid=post]:has-text("${hello}")`, { state: 'detached', timeout: 10_000 }).catch(() => fail("B's post is still on Home after the mute"));
    await go(pa, '#/settings');
    const row = pa.locator('[data-testid=settings-muted] li', { hasText: 'Bob' });
    await row.waitFor({ timeout: 30_000 }).catch(() => fail('Settings does not list Bob as muted'));
    await row.scrollIntoViewIfNeeded();
    await pa.screenshot({ path: join(OUT, 'muted.png') });
    await row.locator('[data-testid=settings-unmute]').click();
    await pa.locator('[data-testid=settings-muted]', { hasText: 'You have muted no one' }).waitFor({ timeout: 30_000 }).catch(async () => fail(`Bob is still listed as muted; toasts: ${await toastsText(pa)}`));
    await go(pa, '#/');
    await pa.waitForSelector('main h1:text-is("Home")');
    await waitOnHome(pa, hello, "B's post, after the unmute");
  });

  ok.muteThread = await stepIf(ok.reply, 'A mutes the conversation from its thread view, and unmutes it', async () => {
    await go(pa, threadHash);
    const button = pa.locator('[data-testid=thread-mute]');
    await button.waitFor({ timeout: WAIT }).catch(() => fail('the thread view shows no Mute button'));
    await button.click();
    await pa.waitForFunction(() => document.querySelector('[data-testid=thread-mute]')?.textContent?.includes('Unmute'), null, { timeout: 30_000 }).catch(() => fail('the button does not turn into Unmute'));
    const muted = await call(A, 'muted');
    if (muted.threads.length !== 1) fail(`the API lists ${muted.threads.length} muted threads, not 1`);
    await button.click();
    await pa.waitForFunction(() => !document.querySelector('[data-testid=thread-mute]')?.textContent?.includes('Unmute'), null, { timeout: 30_000 }).catch(() => fail('the button does not turn back into Mute'));
    if ((await call(A, 'muted')).threads.length) fail('the thread is still muted');
  });

  ok.bookmark = await stepIf(ok.live, "A bookmarks B's post from its menu, finds it under Bookmarks, and removes it there", async () => {
    await go(pa, '#/');
    await pa.waitForSelector('main h1:text-is("Home")');
    const card = await waitOnHome(pa, hello, "B's post");
    await card.locator('[data-testid=post-menu]').click();
    await pa.click('[data-testid=post-bookmark]');
    await pa.click('[data-testid=nav-bookmarks]');
    await pa.waitForSelector('main h1:text-is("Bookmarks")');
    const kept = pa.locator('[data-testid=bookmarks] [data-testid=post]', { hasText: hello });
    await kept.waitFor({ timeout: 30_000 }).catch(async () => fail(`B's post is not under Bookmarks; toasts: ${await toastsText(pa)}`));
    if ((await call(A, 'bookmarks', {})).length !== 1) fail('the API does not list one bookmark');
    await kept.locator('[data-testid=post-menu]').click();
    await pa.click('[data-testid=post-unbookmark]');
    await pa.waitForSelector('[data-testid=bookmarks-empty]', { timeout: 30_000 }).catch(() => fail('the bookmark is still listed after removing it'));
  });

  ok.kinds = await stepIf(ok.names, 'A switches off desktop notifications of new followers in Settings, and the node keeps it', async () => {
    await go(pa, '#/settings');
    const box = pa.locator('[data-testid=settings-notify_follows]');
    await box.waitFor({ timeout: WAIT }).catch(() => fail('Settings has no switch for follow notifications'));
    if (!(await box.isChecked())) fail('follow notifications start switched off');
    await box.uncheck();
    const deadline = Date.now() + 30_000;
    while ((await call(A, 'settings')).notify_follows) {
      if (Date.now() > deadline) fail(`the node did not keep the change; toasts: ${await toastsText(pa)}`);
      await new Promise((z) => setTimeout(z, 200));
    }
    const s = await call(A, 'settings');
    if (!s.notify_mentions || !s.notify_replies) fail('the other kinds changed too');
  });

  await step('no dialogs, CSP violations or uncaught errors on either page', async () => {
    if (incidents.length) fail(incidents.join('\n'));
  });
}

let fatal = null;
try {
  await main();
} catch (e) {
  fatal = e;
  results.push({ name: 'setup', ok: false, msg: e instanceof Error ? e.message : String(e) });
  log(`  ✗ setup\n      ${e instanceof Error ? e.message : e}`);
} finally {
  await browser?.close().catch(() => {});
  await stopServers();
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
}

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
log('');
for (const r of results) log(`${r.ok ? 'PASS' : 'FAIL'}  ${r.name}`);
log(`\ne2e: ${passed} passed, ${failed} failed`);
if (fatal && !(fatal instanceof Error)) log(String(fatal));
process.exit(failed || results.length === 0 ? 1 : 0);
