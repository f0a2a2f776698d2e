'use strict'
// One real SSB peer (secret-stack + ssb-db2 + ssb-ebt + ssb-friends +
// ssb-replication-scheduler), driven by run.js over the IPC channel of
// child_process.fork(). Every request is {id, cmd, args}; every reply is
// {id, ok, result} or {id, ok: false, error}. Logs go to stderr.
//
// Times in replies (`at`) are performance.timeOrigin + performance.now() of
// this process: wall-clock milliseconds with sub-millisecond resolution, the
// same clock run.js and the proxy use.

const SecretStack = require('secret-stack')
const caps = require('ssb-caps')
const { where, and, type, author, mentions, descending, sortByArrival, paginate, toCallback } =
  require('ssb-db2/operators')
const { performance } = require('perf_hooks')
const { Rng, genPost } = require('./gen')

if (!process.send) {
  console.error('peer.js is started by run.js (child_process.fork), not by hand')
  process.exit(2)
}

const now = () => performance.timeOrigin + performance.now()

let sbot = null
let name = 'peer'
let rpc = null // our outgoing connection (B only)
const latest = new Map() // feed id -> highest sequence in our log
const waiters = [] // {targets: Map(id -> seq), resolve}
const requested = new Set() // feeds our ebt was asked to replicate
const reqWaiters = [] // {ids, resolve}
const rng = new Rng(42n) // one post stream per process (only A publishes)
const feedKeys = new Map() // feed id -> array of message keys (for replies)

function log (...a) { console.error(`[${name}]`, ...a) }

function checkWaiters () {
  for (let i = waiters.length - 1; i >= 0; i--) {
    const w = waiters[i]
    let done = true
    for (const [id, seq] of w.targets) {
      if ((latest.get(id) || 0) < seq) { done = false; break }
    }
    if (done) { waiters.splice(i, 1); w.resolve(now()) }
  }
}

function checkReqWaiters () {
  for (let i = reqWaiters.length - 1; i >= 0; i--) {
    const w = reqWaiters[i]
    if (w.ids.every((id) => requested.has(id))) { reqWaiters.splice(i, 1); w.resolve() }
  }
}

const p = (fn) => new Promise((resolve, reject) =>
  fn((err, res) => (err ? reject(err) : resolve(res))))

const drained = () => new Promise((resolve) => sbot.db.onDrain(resolve))

async function create (keys, content) {
  return p((cb) => sbot.db.create(keys ? { keys, content } : { content }, cb))
}

function withTimeout (promise, ms, what) {
  if (!ms) return promise
  let t
  return Promise.race([
    promise,
    new Promise((resolve, reject) => { t = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what()}`)), ms) }),
  ]).finally(() => clearTimeout(t))
}

// Publish `count` generated posts on the feed of `keys` (default: our own).
async function publishPosts (keys, count, extra) {
  const feed = keys ? keys.id : sbot.id
  if (!feedKeys.has(feed)) feedKeys.set(feed, [])
  const mine = feedKeys.get(feed)
  const out = []
  for (let n = 0; n < count; n++) {
    const g = genPost(rng, mine.length)
    const content = { type: 'post', text: g.text }
    if (g.mention) content.mentions = [g.mention]
    if (g.replyTo !== undefined) {
      content.root = mine[g.replyTo]
      content.branch = mine[g.replyTo]
    }
    if (extra) Object.assign(content, extra)
    const m = await create(keys, content)
    mine.push(m.key)
    out.push({ key: m.key, seq: m.value.sequence })
  }
  return out
}

async function query (...ops) {
  const res = await p((cb) => sbot.db.query(...ops, toCallback(cb)))
  return Array.isArray(res) ? res : res.results
}

const commands = {
  async init ({ dir, keys, port, label, hops }) {
    name = label || name
    sbot = SecretStack({ caps })
      .use(require('ssb-db2'))
      .use(require('ssb-db2/compat/ebt')) // getVectorClock / getAtSequence for ssb-ebt
      .use(require('ssb-ebt'))
      .use(require('ssb-friends'))
      .use(require('ssb-replication-scheduler'))
      .call(null, {
        path: dir,
        keys,
        db2: { automigrate: false },
        friends: { hops: hops || 1, hookAuth: false },
        replicationScheduler: { autostart: true, partialReplication: null },
        // no inactivity timeout (the default closes idle links after 5 s)
        timers: { inactivity: -1, handshake: 30e3 },
        connections: {
          incoming: { net: [{ scope: 'device', host: '127.0.0.1', port, transform: 'shs' }] },
          outgoing: { net: [{ transform: 'shs' }] },
        },
      })
    sbot.ebt.request.hook(function (fn, args) {
      if (args[1] === true) { requested.add(args[0]); checkReqWaiters() } else requested.delete(args[0])
      return fn.apply(this, args)
    })
    sbot.db.onMsgAdded((data) => {
      const v = data.kvt.value
      if ((latest.get(v.author) || 0) < v.sequence) latest.set(v.author, v.sequence)
      checkWaiters()
    })
    const t0 = now()
    // getVectorClock waits for db2's base index to cover the whole log
    const clock = await p((cb) => sbot.getVectorClock(cb))
    for (const k in clock) latest.set(k, Math.max(latest.get(k) || 0, clock[k]))
    await drained()
    let msgs = 0
    for (const v of latest.values()) msgs += v
    return { id: sbot.id, feeds: latest.size, msgs, indexMs: now() - t0 }
  },

  async publishPosts ({ count }) {
    const t0 = now()
    const posts = await publishPosts(null, count)
    return { posts, seq: posts.length ? posts[posts.length - 1].seq : 0, ms: now() - t0 }
  },

  // Publish `perAuthor` generated posts for each of `authors` (key pairs)
  // into this database, and have our EBT replicate (serve) those feeds.
  async publishAuthors ({ authors, perAuthor }) {
    const t0 = now()
    for (const keys of authors) await publishPosts(keys, perAuthor)
    for (const keys of authors) sbot.ebt.request(keys.id, true)
    return { ms: now() - t0 }
  },

  // Each of `authors` publishes one generated post that mentions `target`.
  async publishMentions ({ authors, target }) {
    const t0 = now()
    const out = []
    for (const keys of authors) {
      const feed = keys.id
      if (!feedKeys.has(feed)) feedKeys.set(feed, [])
      const g = genPost(rng, feedKeys.get(feed).length)
      const m = await create(keys, {
        type: 'post', text: g.text, mentions: [{ link: target, name: 'b' }],
      })
      feedKeys.get(feed).push(m.key)
      out.push({ author: feed, seq: m.value.sequence, key: m.key })
    }
    return { msgs: out, ms: now() - t0 }
  },

  // Have our EBT replicate (serve or fetch) these feeds.
  async request ({ ids }) {
    for (const id of ids) sbot.ebt.request(id, true)
    return {}
  },

  // Publish follow (contact) messages; resolve once the replication scheduler
  // has asked our EBT for every one of those feeds.
  async follow ({ ids }) {
    for (const id of ids) await create(null, { type: 'contact', contact: id, following: true })
    await commands.waitRequested({ ids })
    return {}
  },

  async waitRequested ({ ids, timeoutMs }) {
    await withTimeout(new Promise((resolve) => { reqWaiters.push({ ids, resolve }); checkReqWaiters() }),
      timeoutMs || 60000, () => `EBT asked for ${ids.filter((id) => requested.has(id)).length} of ${ids.length} feeds`)
    return {}
  },

  async connect ({ address }) {
    const t0 = now()
    rpc = await p((cb) => sbot.connect(address, cb))
    return { remote: rpc.id, at: now(), ms: now() - t0 }
  },

  async disconnect () {
    if (!rpc) return {}
    const r = rpc
    rpc = null
    await new Promise((resolve) => r.close(true, () => resolve()))
    return {}
  },

  // Resolve (with the local time) once our log holds seq >= targets[id] for all ids.
  async waitClock ({ targets, timeoutMs }) {
    const map = new Map(Object.entries(targets))
    const w = {}
    const t = await withTimeout(new Promise((resolve) => {
      w.targets = map
      w.resolve = resolve
      waiters.push(w)
      checkWaiters()
    }), timeoutMs, () => {
      const i = waiters.indexOf(w)
      if (i >= 0) waiters.splice(i, 1)
      let missingFeeds = 0; let missingMsgs = 0
      for (const [id, seq] of map) {
        const have = latest.get(id) || 0
        if (have < seq) { missingFeeds++; missingMsgs += seq - have }
      }
      return `still missing ${missingMsgs} messages on ${missingFeeds} of ${map.size} feeds`
    })
    return { at: t }
  },

  // resolve once the log is written and every index has caught up with it
  async drain () {
    await drained()
    return { at: now() }
  },

  async clock () {
    return { clock: Object.fromEntries(latest) }
  },

  // The first screen of one feed: its newest `n` posts, from the indexed database.
  async newestPosts ({ feed, n }) {
    await drained()
    const page = await query(where(and(type('post'), author(feed))), sortByArrival(), descending(), paginate(n))
    return { seqs: page.map((m) => m.value.sequence), keys: page.map((m) => m.key), at: now() }
  },

  // The first screen of a home timeline: the newest `n` posts of any author,
  // by timestamp (jitdb's default order: min(declared, received) timestamp).
  async newestPage ({ n }) {
    await drained()
    const page = await query(where(type('post')), descending(), paginate(n))
    return { keys: page.map((m) => m.key), at: now() }
  },

  // Posts that mention `target`, from the indexed database.
  async mentionsOf ({ target }) {
    await drained()
    const msgs = await query(where(and(type('post'), mentions(target))))
    return { keys: msgs.map((m) => m.key), at: now() }
  },

  async close () {
    if (rpc) await commands.disconnect()
    if (sbot) {
      await drained()
      await new Promise((resolve) => sbot.close(true, () => resolve()))
    }
    sbot = null
    return {}
  },
}

process.on('message', async (msg) => {
  const fn = commands[msg.cmd]
  try {
    if (!fn) throw new Error('unknown command ' + msg.cmd)
    const result = await fn(msg.args || {})
    process.send({ id: msg.id, ok: true, result })
  } catch (err) {
    log('command', msg.cmd, 'failed:', err && err.stack ? err.stack : err)
    process.send({ id: msg.id, ok: false, error: String(err && err.message ? err.message : err) })
  }
})

// If run.js goes away, go away too.
process.on('disconnect', () => process.exit(0))
process.on('uncaughtException', (err) => {
  log('uncaught:', err && err.stack ? err.stack : err)
  process.exit(1)
})
