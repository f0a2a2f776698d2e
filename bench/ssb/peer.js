'use strict'
// One real SSB peer (secret-stack + ssb-db2 + ssb-ebt + ssb-friends +
// ssb-replication-scheduler), driven by run.js over the IPC channel of
// child_process.fork(). Every request is {id, cmd, args}; every reply is
// {id, ok, result} or {id, ok: false, error}. Logs go to stderr.

const SecretStack = require('secret-stack')
const caps = require('ssb-caps')
const { where, and, type, author, mentions, descending, sortByArrival, paginate, toCallback } =
  require('ssb-db2/operators')
const { Rng, genPost } = require('./gen')

if (!process.send) {
  console.error('peer.js is started by run.js (child_process.fork), not by hand')
  process.exit(2)
}

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
    if (done) { waiters.splice(i, 1); w.resolve(Date.now()) }
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

async function create (keys, content) {
  return p((cb) => sbot.db.create(keys ? { keys, content } : { content }, cb))
}

// Publish `count` generated posts on the feed of `keys` (default: our own).
async function publishPosts (keys, count, extra) {
  const feed = keys ? keys.id : sbot.id
  if (!feedKeys.has(feed)) feedKeys.set(feed, [])
  const mine = feedKeys.get(feed)
  let last = null
  for (let n = 0; n < count; n++) {
    const g = genPost(rng, mine.length)
    const content = { type: 'post', text: g.text }
    if (g.mention) content.mentions = [g.mention]
    if (g.replyTo !== undefined) {
      content.root = mine[g.replyTo]
      content.branch = mine[g.replyTo]
    }
    if (extra) Object.assign(content, extra)
    last = await create(keys, content)
    mine.push(last.key)
  }
  return last ? last.value.sequence : 0
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
    await new Promise((resolve) => {
      if (sbot.getVectorClock) {
        sbot.getVectorClock((err, clock) => {
          if (!err && clock) for (const k in clock) latest.set(k, Math.max(latest.get(k) || 0, clock[k]))
          resolve()
        })
      } else resolve()
    })
    return { id: sbot.id }
  },

  async publishPosts ({ count }) {
    const t0 = Date.now()
    const seq = await publishPosts(null, count)
    return { seq, ms: Date.now() - t0 }
  },

  // Publish `perAuthor` generated posts for each of `authors` (key pairs)
  // into this database, and have our EBT replicate (serve) those feeds.
  async publishAuthors ({ authors, perAuthor }) {
    const t0 = Date.now()
    for (const keys of authors) await publishPosts(keys, perAuthor)
    for (const keys of authors) sbot.ebt.request(keys.id, true)
    return { ms: Date.now() - t0 }
  },

  // Each of `authors` publishes one generated post that mentions `target`.
  async publishMentions ({ authors, target }) {
    const t0 = Date.now()
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
    return { msgs: out, ms: Date.now() - t0 }
  },

  async request ({ ids }) {
    for (const id of ids) sbot.ebt.request(id, true)
    return {}
  },

  // Publish follow (contact) messages; resolve once the replication scheduler
  // has asked our EBT for every one of those feeds.
  async follow ({ ids }) {
    for (const id of ids) await create(null, { type: 'contact', contact: id, following: true })
    await new Promise((resolve) => { reqWaiters.push({ ids, resolve }); checkReqWaiters() })
    return {}
  },

  async connect ({ address }) {
    rpc = await p((cb) => sbot.connect(address, cb))
    return { remote: rpc.id }
  },

  async disconnect () {
    if (!rpc) return {}
    const r = rpc
    rpc = null
    await new Promise((resolve) => r.close(true, () => resolve()))
    return {}
  },

  // Resolve (with the local time) once our log holds seq >= targets[id] for all ids.
  async waitClock ({ targets }) {
    const t = await new Promise((resolve) => {
      waiters.push({ targets: new Map(Object.entries(targets)), resolve })
      checkWaiters()
    })
    return { at: t }
  },

  // The first screen: newest `n` posts of `feed`, from the indexed database.
  async newestPosts ({ feed, n }) {
    await new Promise((resolve) => sbot.db.onDrain(resolve))
    const msgs = await p((cb) => sbot.db.query(
      where(and(type('post'), author(feed))), sortByArrival(), descending(), paginate(n), toCallback(cb)))
    const page = Array.isArray(msgs) ? msgs : msgs.results
    return { seqs: page.map((m) => m.value.sequence), at: Date.now() }
  },

  // Posts that mention `target`, from the indexed database.
  async mentionsOf ({ target }) {
    await new Promise((resolve) => sbot.db.onDrain(resolve))
    const msgs = await p((cb) => sbot.db.query(
      where(and(type('post'), mentions(target))), toCallback(cb)))
    return { keys: msgs.map((m) => m.key), at: Date.now() }
  },

  async count () {
    let total = 0
    for (const v of latest.values()) total += v
    return { feeds: latest.size, msgs: total }
  },

  async close () {
    if (rpc) await commands.disconnect()
    if (sbot) await new Promise((resolve) => sbot.close(true, () => resolve()))
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
