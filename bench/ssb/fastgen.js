'use strict'
// Fast generation of a large ssb-db2 database: F classic feeds x P posts each,
// written straight into db2's log (async-append-only-log, 64 KiB blocks, one
// bipf {key, value, timestamp} record per message, exactly what db2's own
// log.add() writes). Then a real ssb-db2 opens the directory and builds its
// indexes from the log as usual.
//
// Every message is a real signed SSB classic message (ssb-keys signObj, id =
// sha256 of the canonical JSON, `previous` chained): a peer that replicates
// them validates each one as usual. What is skipped is only the publishing
// path (db.create), which costs a second signature and a validation per
// message and is ~10x slower.
//
// Layout of the data (deterministic; the same F, P give the same messages):
//  - feed f's keys come from the seed sha256('rookery-bench-feed-' + f);
//  - feed f's texts use gen.js's genPost with its own Rng (seed feedSeed(f, 1)),
//    so lengths, mentions and replies follow the shared generator;
//  - timestamps: each feed's P posts are spread uniformly at random over one
//    year (2023), the feeds interleave; timestamp = START + unit * F + f, so no
//    two messages anywhere share a timestamp, and (ts - START) mod F = f;
//  - the log holds the messages in timestamp order, as a pub receiving them
//    live would have stored them;
//  - optionally `mention.count` posts mention `mention.target` (instead of a
//    generator mention): post i_j = floor(P * (j + 0.5) / M) of feed
//    floor(j * F / M), for j = 0..M-1, so they are spread over authors and time.
//
// Work is split over worker threads (one per CPU); the main thread merges their
// timestamp-ordered streams into the log.

const path = require('path')
const os = require('os')
const fs = require('fs')
const crypto = require('crypto')
const { Worker, isMainThread, parentPort, workerData } = require('worker_threads')

const START = Date.UTC(2023, 0, 1)
const SPAN = 365 * 24 * 3600 * 1000
const MASK64 = (1n << 64n) - 1n
const TOP = 32 // how many of the newest messages to report

function feedKeys (ssbKeys, f) {
  const seed = crypto.createHash('sha256').update('rookery-bench-feed-' + f).digest()
  return ssbKeys.generate('ed25519', seed)
}

// splitmix64 of (f, stream): well-mixed, distinct seeds per feed and purpose
function feedSeed (f, stream) {
  let z = (0x5eed0000n + BigInt(f) * 0x9E3779B97F4A7C15n + BigInt(stream) * 0xBF58476D1CE4E5B9n) & MASK64
  z = ((z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n) & MASK64
  z = ((z ^ (z >> 27n)) * 0x94D049BB133111EBn) & MASK64
  z = z ^ (z >> 31n)
  return z === 0n ? 1n : z
}

// P strictly increasing timestamps for feed f (see the layout above)
function feedTimestamps (Rng, f, F, P) {
  const units = Math.floor(SPAN / F)
  if (P > units) throw new Error(`too many posts per feed (${P}) for ${F} feeds in one year`)
  const rng = new Rng(feedSeed(f, 2))
  // sorted uniform samples via normalised cumulative exponential gaps
  const gaps = new Float64Array(P + 1)
  let sum = 0
  for (let i = 0; i <= P; i++) { gaps[i] = -Math.log(1 - rng.nextF64()); sum += gaps[i] }
  const out = new Float64Array(P)
  let acc = 0
  let prevUnit = -1
  for (let i = 0; i < P; i++) {
    acc += gaps[i]
    let unit = Math.floor((acc / sum) * units)
    if (unit <= prevUnit) unit = prevUnit + 1
    prevUnit = unit
    out[i] = START + unit * F + f
  }
  if (prevUnit >= units + P) throw new Error('timestamp overflow')
  return out
}

// The plan of mentions of the target: Map(feed index -> Set(post index)).
function mentionPlan (F, P, M) {
  const plan = new Map()
  // mention j is in feed j mod F, the (j div F)-th of that feed's ceil(M / F), spread evenly
  // over its posts (so over authors and over time)
  const per = Math.ceil(M / F)
  for (let j = 0; j < M; j++) {
    const f = j % F
    const i = Math.floor((P * (Math.floor(j / F) + 0.5)) / per)
    if (!plan.has(f)) plan.set(f, new Set())
    plan.get(f).add(i)
  }
  let n = 0
  for (const s of plan.values()) n += s.size
  if (n !== M) throw new Error(`mention plan has ${n} posts, wanted ${M} (need P >= M / F)`)
  return plan
}

// ---------------------------------------------------------------- worker
async function workerMain () {
  const ssbKeys = require('ssb-keys')
  const bipf = require('bipf')
  const { Rng, genPost } = require('./gen')
  const { feeds, F, P, mention, batchBytes, maxInFlight } = workerData
  const plan = mention ? mentionPlan(F, P, mention.count) : new Map()

  const state = new Map() // f -> {keys, rng, ts, prev, seq, msgKeys}
  const allTs = new Float64Array(feeds.length * P)
  let k = 0
  for (const f of feeds) {
    const ts = feedTimestamps(Rng, f, F, P)
    allTs.set(ts, k)
    k += P
    state.set(f, { keys: feedKeys(ssbKeys, f), rng: new Rng(feedSeed(f, 1)), ts, prev: null, seq: 0, msgKeys: [] })
  }
  allTs.sort()

  let inFlight = 0
  let wake = null
  parentPort.on('message', (m) => {
    if (m === 'ack') { inFlight--; if (wake) { const w = wake; wake = null; w() } }
  })

  let buf = Buffer.allocUnsafe(batchBytes + 65536)
  let used = 0
  let lens = []
  let tss = []
  const top = [] // newest TOP of this worker, kept small
  const mentions = []
  async function flush () {
    if (lens.length === 0) return
    const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + used)
    const l = Uint32Array.from(lens)
    const t = Float64Array.from(tss)
    parentPort.postMessage({ type: 'batch', buf: ab, lens: l, ts: t }, [ab, l.buffer, t.buffer])
    inFlight++
    buf = Buffer.allocUnsafe(batchBytes + 65536)
    used = 0; lens = []; tss = []
    while (inFlight >= maxInFlight) await new Promise((resolve) => { wake = resolve })
  }

  const now = Date.now()
  for (let n = 0; n < allTs.length; n++) {
    const ts = allTs[n]
    const f = (ts - START) % F
    const st = state.get(f)
    const i = st.seq
    if (st.ts[i] !== ts) throw new Error(`timestamp bookkeeping broken for feed ${f} post ${i}`)
    const g = genPost(st.rng, i)
    const content = { type: 'post', text: g.text }
    const mentionsMe = plan.has(f) && plan.get(f).has(i)
    if (mentionsMe) content.mentions = [{ link: mention.target, name: mention.name || 'me' }]
    else if (g.mention) content.mentions = [g.mention]
    if (g.replyTo !== undefined) {
      content.root = st.msgKeys[g.replyTo]
      content.branch = st.msgKeys[g.replyTo]
    }
    const value = ssbKeys.signObj(st.keys, null, {
      previous: st.prev,
      sequence: i + 1,
      author: st.keys.id,
      timestamp: ts,
      hash: 'sha256',
      content,
    })
    const key = '%' + ssbKeys.hash(JSON.stringify(value, null, 2))
    st.prev = key
    st.seq = i + 1
    st.msgKeys.push(key)
    // arrival time: "now" (when a peer would have received it), after the declared one
    const rec = bipf.allocAndEncode({ key, value, timestamp: now })
    if (used + rec.length > buf.length) await flush()
    rec.copy(buf, used)
    used += rec.length
    lens.push(rec.length)
    tss.push(ts)
    if (mentionsMe) mentions.push({ ts, author: st.keys.id, seq: i + 1, key })
    if (n >= allTs.length - TOP) top.push({ ts, author: st.keys.id, seq: i + 1, key })
    if (used >= batchBytes) await flush()
  }
  await flush()
  parentPort.postMessage({ type: 'done', top, mentions, count: allTs.length })
}

// ---------------------------------------------------------------- main thread
// opts: {dir, feeds: F, perFeed: P, mention?: {target, count, name}, workers?, log?}
// Writes dir/db2/log.bipf. Resolves with {feedIds, newest (TOP by timestamp,
// newest first), mentions (by timestamp, oldest first), messages, bytes, ms}.
async function generateLog (opts) {
  const t0 = Date.now()
  const ssbKeys = require('ssb-keys')
  const OffsetLog = require('async-append-only-log')
  const { BLOCK_SIZE, newLogPath } = require('ssb-db2/defaults')
  const F = opts.feeds
  const P = opts.perFeed
  const log = opts.log || (() => {})
  if (opts.mention) mentionPlan(F, P, opts.mention.count) // validate early
  const logPath = newLogPath(opts.dir)
  fs.mkdirSync(path.dirname(logPath), { recursive: true })
  if (fs.existsSync(logPath)) throw new Error(`${logPath} exists already`)
  const aaol = OffsetLog(logPath, { blockSize: BLOCK_SIZE })

  const W = Math.max(1, Math.min(opts.workers || os.cpus().length, F))
  const workers = []
  for (let w = 0; w < W; w++) {
    const feeds = []
    for (let f = w; f < F; f += W) feeds.push(f)
    const worker = new Worker(__filename, {
      workerData: { feeds, F, P, mention: opts.mention || null, batchBytes: 1 << 21, maxInFlight: 4 },
    })
    const wk = { worker, queue: [], done: null, waiting: null, error: null, cur: null, pos: 0, off: 0 }
    worker.on('message', (m) => {
      if (m.type === 'batch') wk.queue.push(m)
      else if (m.type === 'done') wk.done = m
      if (wk.waiting) { const r = wk.waiting; wk.waiting = null; r() }
    })
    worker.on('error', (e) => { wk.error = e; if (wk.waiting) { const r = wk.waiting; wk.waiting = null; r() } })
    worker.on('exit', (code) => {
      if (!wk.done && !wk.error) wk.error = new Error(`generator worker exited with code ${code}`)
      if (wk.waiting) { const r = wk.waiting; wk.waiting = null; r() }
    })
    workers.push(wk)
  }

  // make sure wk.cur has a record at wk.pos, or wk is finished; returns false when finished
  async function ready (wk) {
    for (;;) {
      if (wk.error) throw wk.error
      if (wk.cur && wk.pos < wk.cur.lens.length) return true
      if (wk.cur) { wk.cur = null; wk.worker.postMessage('ack') }
      if (wk.queue.length) { wk.cur = wk.queue.shift(); wk.cur.data = Buffer.from(wk.cur.buf); wk.pos = 0; wk.off = 0; continue }
      if (wk.done) return false
      await new Promise((resolve) => { wk.waiting = resolve })
    }
  }

  const append = (b) => new Promise((resolve, reject) => aaol.append(b, (err) => (err ? reject(err) : resolve())))
  let messages = 0
  let bytes = 0
  let sinceDrain = 0
  let lastTs = -Infinity
  let lastReport = Date.now()
  let live = workers.slice()
  try {
    for (;;) {
      const next = []
      for (const wk of live) if (await ready(wk)) next.push(wk)
      live = next
      if (live.length === 0) break
      // append from the worker with the smallest head timestamp until another one is smaller
      let best = live[0]
      for (const wk of live) if (wk.cur.ts[wk.pos] < best.cur.ts[best.pos]) best = wk
      let bound = Infinity
      for (const wk of live) if (wk !== best && wk.cur.ts[wk.pos] < bound) bound = wk.cur.ts[wk.pos]
      const c = best.cur
      while (best.pos < c.lens.length && c.ts[best.pos] < bound) {
        const len = c.lens[best.pos]
        const ts = c.ts[best.pos]
        if (ts <= lastTs) throw new Error('merge order broken')
        lastTs = ts
        await append(c.data.subarray(best.off, best.off + len))
        best.off += len
        best.pos++
        messages++
        bytes += len
        sinceDrain += len
      }
      if (sinceDrain > (128 << 20)) {
        sinceDrain = 0
        await new Promise((resolve) => aaol.onDrain(resolve))
      }
      if (Date.now() - lastReport > 5000) {
        lastReport = Date.now()
        log(`generated ${messages} / ${F * P} messages (${Math.round(messages / ((Date.now() - t0) / 1000))}/s)`)
      }
    }
    await new Promise((resolve, reject) => aaol.close((err) => (err ? reject(err) : resolve())))
  } finally {
    for (const wk of workers) wk.worker.terminate()
  }
  if (messages !== F * P) throw new Error(`generated ${messages} messages, wanted ${F * P}`)
  const top = []
  const mentions = []
  for (const wk of workers) { top.push(...wk.done.top); mentions.push(...wk.done.mentions) }
  top.sort((a, b) => b.ts - a.ts)
  mentions.sort((a, b) => a.ts - b.ts)
  const feedIds = []
  for (let f = 0; f < F; f++) feedIds.push(feedKeys(ssbKeys, f).id)
  return { feedIds, newest: top.slice(0, TOP), mentions, messages, bytes, ms: Date.now() - t0 }
}

module.exports = { generateLog, feedKeys, feedTimestamps, mentionPlan, START, SPAN }

if (!isMainThread) {
  workerMain().catch((e) => { setImmediate(() => { throw e }) })
}
