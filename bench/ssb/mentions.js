#!/usr/bin/env node
'use strict'
// Mentions baseline: one SSB peer (secret-stack + ssb-db2 + its EBT index, no
// network) whose database holds A feeds x P posts, M of which mention the
// peer's own id ("me"). Measures ssb-db2's own mentions query.
//
//   node mentions.js [--authors 1000] [--per-author 1000] [--mentions 50] [--runs 5] [--json]
//
// With --json, stdout carries exactly one JSON object; all logs go to stderr.
// See README.md.

const path = require('path')
const ssbKeys = require('ssb-keys')
const { performance } = require('perf_hooks')
const { generateLog } = require('./fastgen')
const L = require('./lib')
const { log, setStep, mb, list, round1, median } = L

const USAGE = 'usage: node mentions.js [--authors 1000] [--per-author 1000] [--mentions 50] [--runs 5] [--json]\n'
function usage (err) {
  if (err) { process.stderr.write(`mentions.js: ${err}\n${USAGE}`); process.exit(2) }
  process.stdout.write(USAGE)
  process.exit(0)
}

function parseArgs (argv) {
  const o = { authors: 1000, perAuthor: 1000, mentions: 50, runs: 5, json: false }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const num = (min) => {
      const v = Number(argv[++i])
      if (!Number.isInteger(v) || v < min) usage(`${a} needs an integer >= ${min}`)
      return v
    }
    if (a === '--authors') o.authors = num(1)
    else if (a === '--per-author') o.perAuthor = num(1)
    else if (a === '--mentions') o.mentions = num(1)
    else if (a === '--runs') o.runs = num(1)
    else if (a === '--json') o.json = true
    else if (a === '-h' || a === '--help') usage(null)
    else usage(`unknown argument ${a}`)
  }
  if (o.mentions > o.authors * o.perAuthor) usage('--mentions cannot exceed the number of messages')
  return o
}

const p = (fn) => new Promise((resolve, reject) => fn((err, res) => (err ? reject(err) : resolve(res))))
const t = () => performance.now()

function openPeer (dir, keys) {
  const SecretStack = require('secret-stack')
  const caps = require('ssb-caps')
  return SecretStack({ caps })
    .use(require('ssb-db2'))
    .use(require('ssb-db2/compat/ebt')) // the EBT index every replicating peer keeps
    .call(null, {
      path: dir,
      keys,
      db2: { automigrate: false },
      connections: { incoming: {}, outgoing: {} },
    })
}

function sameSet (got, want) {
  if (got.length !== want.length) return false
  const s = new Set(got)
  return want.every((k) => s.has(k))
}

async function main () {
  const opts = parseArgs(process.argv.slice(2))
  L.state.name = 'mentions.js'
  const A = opts.authors
  const P = opts.perAuthor
  const M = opts.mentions
  const K = opts.runs
  const total = A * P
  // generation ~20k/s, db2 indexing ~50k/s, jitdb index build ~100k/s
  const limitMs = Math.round(Math.max(120, 3 * (20 + total / 12000 + total / 30000 + total / 50000 + K)) * 1000)
  L.install(limitMs)

  const tmp = L.makeTmp('rookery-ssb-mentions-')
  const dir = path.join(tmp, 'peer')
  const me = ssbKeys.generate()
  setStep(`generating ${A} feeds x ${P} posts (${M} mention me)`)
  const gen = await generateLog({ dir, feeds: A, perFeed: P, mention: { target: me.id, count: M, name: 'me' }, log })
  log(`generated ${gen.messages} messages (${mb(gen.bytes)} of records) in ${gen.ms} ms (${Math.round(gen.messages / (gen.ms / 1000))}/s)`)
  if (gen.mentions.length !== M) throw new Error(`generator made ${gen.mentions.length} mentions, expected ${M}`)
  const wantAll = gen.mentions.map((m) => m.key)
  // "last read" mark: everything up to the S-th newest mention (exclusive) was read
  const S = Math.max(1, Math.min(5, Math.floor(M / 2)))
  const mark = M > S ? gen.mentions[M - S - 1].ts : gen.mentions[0].ts - 1
  const wantNew = gen.mentions.slice(M - S).map((m) => m.key)

  setStep('opening the database (db2 builds its startup indexes)')
  let t0 = t()
  let sbot = openPeer(dir, me)
  const clock = await p((cb) => sbot.getVectorClock(cb))
  await new Promise((resolve) => sbot.db.onDrain(resolve))
  const startupMs = t() - t0
  let held = 0
  for (const k in clock) held += clock[k]
  if (held !== total || Object.keys(clock).length !== A) throw new Error(`db2 holds ${held} messages in ${Object.keys(clock).length} feeds, expected ${total} in ${A}`)
  log(`db2 opened ${total} messages and built its startup indexes (base, keys, ebt) in ${Math.round(startupMs)} ms`)

  const { where, and, type, mentions, gt, toCallback } = require('ssb-db2/operators')
  const query = (...ops) => p((cb) => sbot.db.query(...ops, toCallback(cb))).then((r) => (Array.isArray(r) ? r : r.results))
  const qAll = () => query(where(and(type('post'), mentions(me.id))))
  const qNew = () => query(where(and(type('post'), mentions(me.id), gt(mark, 'timestamp'))))
  const check = (res, want, what) => {
    const keys = res.map((m) => m.key)
    if (!sameSet(keys, want)) throw new Error(`${what} returned ${keys.length} posts, expected ${want.length} (the generated ones)`)
  }

  setStep('building the mentions index (first query)')
  t0 = t()
  const first = await qAll()
  const buildMs = t() - t0
  check(first, wantAll, 'the first mentions query')
  log(`first mentions query (builds jitdb's type and mentions indexes): ${Math.round(buildMs)} ms`)

  setStep('mentions query runs')
  const allMs = []
  for (let r = 0; r < K; r++) {
    t0 = t()
    const res = await qAll()
    allMs.push(t() - t0)
    check(res, wantAll, `mentions query run ${r + 1}`)
  }
  const newMs = []
  for (let r = 0; r < K; r++) {
    t0 = t()
    const res = await qNew()
    newMs.push(t() - t0)
    check(res, wantNew, `new-mentions query run ${r + 1}`)
  }
  log(`mentions query: ${list(allMs)} ms; since last read: ${newMs.map((x) => x.toFixed(1)).join(', ')} ms`)

  setStep('closing the database')
  await new Promise((resolve) => sbot.close(true, resolve))
  const disk = L.dirBytes(dir)

  // a freshly started app: indexes come from disk
  setStep('reopening: first query of a fresh process')
  sbot = openPeer(dir, me)
  await p((cb) => sbot.getVectorClock(cb))
  await new Promise((resolve) => sbot.db.onDrain(resolve))
  t0 = t()
  const cold = await qAll()
  const coldMs = t() - t0
  check(cold, wantAll, 'the mentions query after reopening')
  await new Promise((resolve) => sbot.close(true, resolve))

  const result = {
    authors: A,
    per_author: P,
    messages: total,
    mentions: M,
    build_ms: round1(buildMs),
    query_ms: round1(median(allMs)),
    query_ms_min: round1(Math.min(...allMs)),
    query_ms_max: round1(Math.max(...allMs)),
    found: first.length,
    disk_bytes: disk,
    since_query_ms: round1(median(newMs)),
    since_query_ms_min: round1(Math.min(...newMs)),
    since_query_ms_max: round1(Math.max(...newMs)),
    since_found: S,
    note: `One ssb-db2 peer (no network), ${A} feeds x ${P} signed classic posts (fastgen.js: gen.js texts, ` +
      `timestamps interleaved over one year, written into db2's log, generated in ${Math.round(gen.ms / 1000)} s); ` +
      `${M} of them mention the peer's id, spread over authors and time; about 10% mention other ids. ` +
      `db2's startup indexes (base, keys, ebt) took ${Math.round(startupMs)} ms. build_ms: the first ` +
      `query where(and(type('post'), mentions(me))), which builds jitdb's type and mentions ` +
      `(value_content_mentions_link) indexes over the whole log. query_ms: that same all-mentions query ` +
      `afterwards, median of ${K} runs in the same process (runs: ${allMs.map((x) => x.toFixed(1)).join(', ')}); ` +
      `found = its result count. since_query_ms: the notification query, mentions newer than a last-read mark ` +
      `(and(type('post'), mentions(me), gt(mark, 'timestamp'))), with the mark set so that it returns the ${S} ` +
      `newest (since_found; median of ${K} runs: ${newMs.map((x) => x.toFixed(1)).join(', ')}). A fresh process's first all-mentions query ` +
      `(indexes loaded from disk) took ${coldMs.toFixed(1)} ms. disk_bytes: the whole database directory after closing ` +
      `(log ${mb(gen.bytes)} of records + indexes).`,
  }
  L.state.finished = true
  L.cleanup()
  if (opts.json) await L.writeOut(JSON.stringify(result) + '\n')
  else {
    await L.writeOut(`SSB mentions, ${total} messages (${A} x ${P}), ${M} mention me, ${K} run(s)\n` +
      `build ${result.build_ms} ms; query ${result.query_ms} ms [${result.query_ms_min}-${result.query_ms_max}], found ${result.found}; ` +
      `since last read ${result.since_query_ms} ms, found ${S}; disk ${mb(disk)}\n`)
  }
  process.exit(0)
}

main().catch((e) => L.fail(e && e.stack ? e.stack : String(e)))
