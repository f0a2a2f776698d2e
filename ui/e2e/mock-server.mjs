// A stand-in for `rookery serve --http`, for UI development and screenshots without a node:
// serves `dist/` with the app's CSP and answers the API of docs/api.md from memory, with a few
// made-up people. Not used by the e2e run, which drives real nodes.
//
//   node e2e/mock-server.mjs [--port 8788] [--empty] [--posts N]
//
// Prints `http://127.0.0.1:PORT/#token=TOKEN` like the real server.

import { createHash, randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const arg = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : dflt;
};
const PORT = Number(arg('--port', '8788'));
const EMPTY = args.includes('--empty');
const POSTS = Number(arg('--posts', '60'));
const DIST = fileURLToPath(new URL('../dist/', import.meta.url));
const TOKEN = randomBytes(16).toString('base64url');
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; connect-src 'self' ipc: http://ipc.localhost; object-src 'none'; base-uri 'none'";

const hex = (s) => createHash('sha256').update(s).digest('hex');
const now = Date.now();

const me = { key: hex('me'), name: null, bio: '', avatar: null, follows: [] };
const people = new Map();
function addPerson(name, bio, follows = []) {
  const p = { key: hex(name), name, bio, avatar: null, follows, updated_ms: now - Math.random() * 3600_000 };
  people.set(p.key, p);
  return p;
}
const alice = addPerson('Alice', 'Birds, bikes and bread.');
const bob = addPerson('Bob Smith', 'Writes Rust, mostly.');
const carol = addPerson('carol', 'Photographer. Tea > coffee.');
const dave = addPerson('dave_42', '');
alice.follows = [bob.key, carol.key, dave.key];
bob.follows = [alice.key, dave.key];

/** @type {Map<string, any>} */
const messages = new Map();
let seq = 0;
function msg(author, text, ts, parent = null, root = null) {
  const id = hex(`m${seq++}${text}${ts}`);
  const mentions = [...text.matchAll(/@([0-9a-f]{64}|[A-Za-z0-9_-]+)/g)]
    .map((m) => (/^[0-9a-f]{64}$/.test(m[1]) ? m[1] : [...people.values(), { key: me.key, name: me.name }].find((p) => (p.name ?? '').toLowerCase() === m[1].toLowerCase())?.key))
    .filter(Boolean);
  const m = {
    id,
    author,
    author_name: author === me.key ? me.name : people.get(author)?.name ?? null,
    seq,
    timestamp_ms: ts,
    content: { type: 'post', text, mentions, root, parent },
  };
  messages.set(id, m);
  return m;
}

const notifications = [];
if (!EMPTY) {
  me.follows = [alice.key, bob.key];
  const texts = [
    'Morning ride along the river. **Fog** everywhere, but the herons did not mind.',
    'Shipped a new release today: faster sync, fewer allocations. Notes at https://example.com/notes',
    'Does anyone have a good sourdough starter routine? Mine keeps going flat.',
    "Here's a list:\n\n- bread\n- cheese\n- `more bread`",
    '> Quoting someone wise\n\nI agree with this.',
    'Long post: ' + 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(20),
    'Tiny one.',
    'Check [this](javascript:alert(1)) and <img src=x onerror=alert(1)> safely shown as text.',
  ];
  for (let i = 0; i < POSTS; i++) {
    const author = [alice, bob, carol][i % 3];
    msg(author.key, texts[i % texts.length], now - i * 47 * 60_000 - 30_000);
  }
  const root = [...messages.values()][1];
  const r1 = msg(alice.key, 'Congrats! Upgrading now.', now - 20 * 60_000, root.id, root.id);
  msg(bob.key, 'Thanks! Tell me how it goes.', now - 10 * 60_000, r1.id, root.id);
  const mine = msg(me.key, 'Hello, Rookery! My first post.', now - 26 * 3600_000);
  const rep = msg(alice.key, 'Welcome aboard! 🎉', now - 25 * 3600_000, mine.id, mine.id);
  const men = msg(bob.key, `Say hi to @${me.key} everyone`, now - 3 * 60_000);
  notifications.push({ kind: 'mention', message: men, read: false }, { kind: 'reply', message: rep, read: true });
}

const peers = [
  { key: alice.key, name: 'Alice', connected: true, bytes_in: 48213, bytes_out: 1200, requests: 12, fetching: null },
  { key: bob.key, name: 'Bob Smith', connected: true, bytes_in: 1_203_441, bytes_out: 5_220, requests: 40, fetching: 'history of 2f1c…9e (messages)' },
];
const settings = { relays: true, notifications: true, restart_required: false };
const clients = new Set();

function send(ev) {
  for (const res of clients) res.write(`data: ${JSON.stringify(ev)}\n\n`);
}

function profileOf(key) {
  const p = key === me.key ? me : people.get(key);
  if (!p) return null;
  return {
    key,
    name: p.name,
    bio: p.bio,
    avatar: p.avatar,
    follows: p.follows,
    followers: [...people.values(), me].filter((x) => x.follows.includes(key)).length,
    followed_by_me: me.follows.includes(key),
    blocked_by_me: false,
    seq: [...messages.values()].filter((m) => m.author === key).length,
  };
}

function page(list, cursor, limit) {
  const sorted = list.sort((a, b) => b.timestamp_ms - a.timestamp_ms);
  const start = cursor ? Number(cursor) : 0;
  const n = Math.min(Number(limit ?? 30), 200);
  const items = sorted.slice(start, start + n);
  return { items, next_cursor: start + n < sorted.length ? String(start + n) : null };
}

const blobs = new Map();

async function api(req, res, url, body) {
  const path = url.pathname;
  const q = url.searchParams;
  const j = () => (body.length ? JSON.parse(body.toString()) : {});
  const ok = (v) => {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(v));
  };
  const err = (status, code, message) => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ error: { code, message } }));
  };
  let m;
  if (path === '/api/me') return ok({ key: me.key, ticket: `endpoint${'a'.repeat(40)}${me.key.slice(0, 30)}`, profile: profileOf(me.key) });
  if (path === '/api/timeline') {
    const authors = new Set([me.key, ...me.follows]);
    return ok(page([...messages.values()].filter((x) => authors.has(x.author)), q.get('cursor'), q.get('limit')));
  }
  if ((m = /^\/api\/feed\/([0-9a-f]{64})$/.exec(path))) return ok(page([...messages.values()].filter((x) => x.author === m[1]), q.get('cursor'), q.get('limit')));
  if ((m = /^\/api\/thread\/([0-9a-f]{64})$/.exec(path))) {
    const root = messages.get(m[1]) ?? null;
    const replies = [...messages.values()].filter((x) => x.content.root === m[1]).sort((a, b) => a.timestamp_ms - b.timestamp_ms);
    return ok({ root, replies });
  }
  if ((m = /^\/api\/profile\/([0-9a-f]{64})$/.exec(path))) {
    const p = profileOf(m[1]);
    return p ? ok(p) : err(404, 'not_found', 'No profile of this author is held yet.');
  }
  if (path === '/api/people') {
    return ok([...people.values()].map((p) => ({ key: p.key, name: p.name, avatar: p.avatar, followed: me.follows.includes(p.key), seq: 3, updated_ms: p.updated_ms })));
  }
  if (path === '/api/notifications') {
    return ok({ items: notifications.slice(0, Number(q.get('limit') ?? 30)), unread: notifications.filter((n) => !n.read).length });
  }
  if (path === '/api/notifications/read') {
    const { id } = j();
    for (const n of notifications) if (!id || n.message.id === id) n.read = true;
    return ok({ items: notifications, unread: notifications.filter((n) => !n.read).length });
  }
  if (path === '/api/post' || path === '/api/reply') {
    const { text, parent } = j();
    if (!text || !text.trim()) return err(400, 'bad_request', 'A post needs some text.');
    if (text.length > 4000) return err(400, 'too_large', 'A post has at most 4000 characters.');
    let root = null;
    if (parent) {
      const p = messages.get(parent);
      if (!p) return err(404, 'not_found', 'The post replied to is not held.');
      root = p.content.root ?? p.id;
    }
    const v = msg(me.key, text, Date.now(), parent ?? null, root);
    send({ type: 'published', message: v });
    return ok(v);
  }
  if (path === '/api/follow') {
    const { address } = j();
    const key = /^[0-9a-f]{64}$/.test(address) ? address : null;
    if (!key) return err(400, 'bad_address', 'That is not a ticket or key Rookery can read.');
    if (!people.has(key)) addPerson(`Friend ${key.slice(0, 4)}`, '');
    if (!me.follows.includes(key)) me.follows.push(key);
    return ok(profileOf(key));
  }
  if (path === '/api/unfollow') {
    const { key } = j();
    me.follows = me.follows.filter((k) => k !== key);
    return ok(profileOf(key));
  }
  if (path === '/api/block') return ok({ ...profileOf(j().key), blocked_by_me: true });
  if (path === '/api/delete') {
    messages.delete(j().id);
    return ok(null);
  }
  if (path === '/api/profile' && req.method === 'POST') {
    const { name, bio } = j();
    me.name = name;
    me.bio = bio;
    for (const x of messages.values()) if (x.author === me.key) x.author_name = name;
    send({ type: 'published', message: { id: hex(`about${Date.now()}`), author: me.key, author_name: name, seq: ++seq, timestamp_ms: Date.now(), content: { type: 'about', name, bio, avatar: me.avatar } } });
    return ok(profileOf(me.key));
  }
  if (path === '/api/avatar') {
    const h = hex(body.toString('base64'));
    blobs.set(h, body);
    me.avatar = h;
    return ok(profileOf(me.key));
  }
  if ((m = /^\/api\/blob\/([0-9a-f]{64})$/.exec(path))) {
    const b = blobs.get(m[1]);
    if (!b) return err(404, 'not_found', 'No such blob.');
    res.writeHead(200, { 'content-type': 'image/png' });
    return res.end(b);
  }
  if (path === '/api/status') return ok({ peers, connected: peers.filter((p) => p.connected).length, busy: false, relays: settings.relays });
  if (path === '/api/settings') {
    if (req.method === 'POST') {
      const s = j();
      if (typeof s.relays === 'boolean') {
        settings.relays = s.relays;
        settings.restart_required = true;
      }
      if (typeof s.notifications === 'boolean') settings.notifications = s.notifications;
    }
    return ok(settings);
  }
  if (path === '/api/export-key') return ok({ secret: hex('secret') });
  if (path === '/api/demo') {
    setTimeout(() => {
      const v = msg(carol.key, 'Hello from the demo network!', Date.now());
      if (!me.follows.includes(carol.key)) me.follows.push(carol.key);
      send({ type: 'head_imported', author: carol.key, seq: v.seq });
    }, 800);
    return ok(null);
  }
  if (path === '/api/events') {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    res.write(': hi\n\n');
    clients.add(res);
    req.on('close', () => clients.delete(res));
    return;
  }
  return err(404, 'not_found', `No route ${path}`);
}

const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css', '.svg': 'image/svg+xml', '.png': 'image/png' };

createServer(async (req, res) => {
  const url = new URL(req.url, `http://${req.headers.host}`);
  if (url.pathname.startsWith('/api/')) {
    const auth = req.headers.authorization === `Bearer ${TOKEN}` || url.searchParams.get('token') === TOKEN;
    if (!auth) {
      res.writeHead(401, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: { code: 'unauthorized', message: 'Missing or wrong token.' } }));
    }
    const chunks = [];
    for await (const c of req) chunks.push(c);
    try {
      return await api(req, res, url, Buffer.concat(chunks));
    } catch (e) {
      res.writeHead(500, { 'content-type': 'application/json' });
      return res.end(JSON.stringify({ error: { code: 'internal', message: String(e) } }));
    }
  }
  const rel = normalize(url.pathname === '/' ? '/index.html' : url.pathname).replace(/^(\.\.[/\\])+/, '');
  try {
    const data = await readFile(join(DIST, rel));
    res.writeHead(200, { 'content-type': TYPES[extname(rel)] ?? 'application/octet-stream', 'content-security-policy': CSP });
    res.end(data);
  } catch {
    res.writeHead(404);
    res.end('not found');
  }
}).listen(PORT, '127.0.0.1', () => {
  console.log(`Rookery mock at http://127.0.0.1:${PORT}/#token=${TOKEN}`);
});

// Some life: a new post from Alice every 20 s, and a mention a bit later.
if (!EMPTY) {
  setInterval(() => {
    const v = msg(alice.key, `Live post at ${new Date().toLocaleTimeString()}`, Date.now());
    send({ type: 'head_imported', author: alice.key, seq: v.seq });
  }, 20_000);
}
