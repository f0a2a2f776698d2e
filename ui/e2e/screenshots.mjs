// Screenshots of the UI with demo data, for the README: starts `rookery demo --http` (a user
// named Ada and five local peers with four days of history), opens the UI in headless Chromium
// at 1280×800 and shoots Home, a Thread with replies and Notifications. Each shot waits for what
// it shows (posts, replies, notifications, avatars) and fails with a clear message otherwise.
//
//   node e2e/screenshots.mjs [OUT_DIR]      (default e2e/demo-out; `make screenshots` → docs/)
//
// Environment: ROOKERY_BIN (default ../target/debug/rookery), CHROMIUM (default /usr/bin/chromium).

import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const HERE = dirname(fileURLToPath(import.meta.url));
const UI = resolve(HERE, '..');
const BIN = process.env.ROOKERY_BIN ?? resolve(UI, '../target/debug/rookery');
const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
const OUT = resolve(process.argv[2] ?? join(HERE, 'demo-out'));
const WAIT = 90_000;
const URL_RE = /http:\/\/127\.0\.0\.1:\d+\/#token=[A-Za-z0-9_-]+/;

const dir = mkdtempSync(join(tmpdir(), 'rookery-shots-'));
let server = null;
let browser = null;
let page = null;
let stage = 'start';

function cleanup() {
  if (server && server.exitCode === null) server.kill('SIGTERM');
  rmSync(dir, { recursive: true, force: true });
}

async function main() {
  mkdirSync(OUT, { recursive: true });
  const named = spawnSync(BIN, ['--data-dir', dir, 'profile', 'set', '--name', 'Ada', '--bio', 'Trying out Rookery'], {
    encoding: 'utf8',
  });
  if (named.status !== 0) throw new Error(`naming the user failed: ${named.stderr}`);
  server = spawn(
    BIN,
    ['--data-dir', dir, '--offline', '--bind', '127.0.0.1:0', 'demo', '--http', '127.0.0.1:0', '--ui', join(UI, 'dist')],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, RUST_LOG: 'warn' } },
  );
  let out = '';
  let err = '';
  server.stderr.on('data', (d) => (err += d));
  const url = await new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`no URL from rookery demo in 60 s: ${err.slice(-1500)}`)), 60_000);
    server.stdout.on('data', (d) => {
      out += d;
      const m = out.match(URL_RE);
      if (m) {
        clearTimeout(timer);
        res(m[0]);
      }
    });
    server.on('exit', (code) => rej(new Error(`rookery demo exited (${code}): ${err.slice(-1500)}`)));
  });
  const base = url.split('#')[0];
  const token = url.split('#token=')[1];
  // An API command as the UI sends it: `POST /api/{command}` with JSON arguments.
  const api = async (command, args = {}) => {
    const r = await fetch(`${base}api/${command}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(args),
    });
    if (!r.ok) throw new Error(`POST /api/${command}: ${r.status} ${await r.text()}`);
    return r.json();
  };

  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking',
      '--disable-component-update', '--disable-sync'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, colorScheme: 'light' });
  page = await context.newPage();
  await page.goto(url);

  stage = 'home';
  // Home: wait until all five peers' first screens and avatars are in.
  const deadline = Date.now() + WAIT;
  for (;;) {
    const people = await api('people');
    if (people.length === 5 && people.every((p) => p.name && p.avatar)) break;
    if (Date.now() > deadline) throw new Error(`the demo peers did not all arrive: ${JSON.stringify(people)}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  await page.reload();
  await page.locator('[data-testid="post"]').nth(7).waitFor({ timeout: WAIT });
  await page.waitForFunction(
    () => [...document.querySelectorAll('main [data-testid="post"] img')].filter((i) => i.complete && i.naturalWidth > 0).length >= 5,
    null,
    { timeout: WAIT },
  );
  await page.screenshot({ path: join(OUT, 'home.png') });

  stage = 'thread';
  // Thread: the root with the most replies among the newest 200 posts.
  const timeline = await api('timeline', { limit: 200 });
  const counts = new Map();
  for (const m of timeline.items) {
    if (m.content.type === 'post' && m.content.root) counts.set(m.content.root, (counts.get(m.content.root) ?? 0) + 1);
  }
  const root = [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
  if (!root) throw new Error('the demo timeline has no replies');
  await page.goto(`${base}#/thread/${root}`);
  // The root (or its quiet placeholder, if it cannot be had) and at least one reply.
  await page
    .locator('[data-testid="thread"] :is([data-testid="post"], [data-testid="post-unavailable"])')
    .nth(1)
    .waitFor({ timeout: WAIT });
  await page.screenshot({ path: join(OUT, 'thread.png') });

  stage = 'notifications';
  // Notifications.
  await page.goto(`${base}#/notifications`);
  await page.locator('[data-testid="notification"]').nth(2).waitFor({ timeout: WAIT });
  await page.screenshot({ path: join(OUT, 'notifications.png') });
  console.log(`screenshots of Home, Thread and Notifications with demo data in ${OUT}`);
}

try {
  await main();
} catch (e) {
  console.error(`screenshots (${stage}): ${e instanceof Error ? e.message : e}`);
  if (page) await page.screenshot({ path: join(OUT, `failed-${stage}.png`) }).catch(() => {});
  process.exitCode = 1;
} finally {
  if (browser) await browser.close().catch(() => {});
  cleanup();
}
