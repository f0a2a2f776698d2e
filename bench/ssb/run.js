#!/usr/bin/env node
'use strict'
// Side-by-side benchmark: two real Secure Scuttlebutt peers (JS stack, as in
// Manyverse) on 127.0.0.1, a byte-counting TCP proxy between them.
//
//   node run.js --posts N [--json] [--authors 200] [--per-author 20]
//
// With --json, stdout carries exactly one JSON object; all logs go to stderr.

const { fork } = require('child_process')
const fs = require('fs')
const net = require('net')
const os = require('os')
const path = require('path')
const ssbKeys = require('ssb-keys')

const TOTAL_TIMEOUT_MS = 10 * 60 * 1000
const SCREEN = 32

// ---------------------------------------------------------------- arguments
function parseArgs (argv) {
  const o = { posts: null, json: false, authors: 200, perAuthor: 20 }
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]
    const num = () => {
      const v = Number(argv[++i])
      if (!Number.isInteger(v) || v < 1) usage(`${a} needs a positive integer`)
      return v
    }
    if (a === '--posts') o.posts = num()
    else if (a === '--authors') o.authors = num()
    else if (a === '--per-author') o.perAuthor = num()
    else if (a === '--json') o.json = true
    else if (a === '-h' || a === '--help') usage(null)
    else usage(`unknown argument ${a}`)
  }
  if (o.posts === null) usage('--posts N is required')
  if (o.authors < 5) usage('--authors must be at least 5')
  return o
}

function usage (err) {
  const text = 'usage: node run.js --posts N [--json] [--authors 200] [--per-author 20]\n'
  if (err) { process.stderr.write(`run.js: ${err}\n${text}`); process.exit(2) }
  process.stdout.write(text)
  process.exit(0)
}

const opts = parseArgs(process.argv.slice(2))
const log = (...a) => console.error('[run]', ...a)

// ---------------------------------------------------------------- cleanup
let tmpRoot = null
const children = []
let proxy = null
let step = 'starting'
let finished = false

function cleanup () {
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) {
      try { c.kill('SIGKILL') } catch (_) {}
    }
  }
  if (proxy) { try { proxy.destroy() } catch (_) {} }
  if (tmpRoot) {
    try { fs.rmSync(tmpRoot, { recursive: true, force: true }) } catch (_) {}
    tmpRoot = null
  }
}

function fail (msg) {
  if (finished) return
  finished = true
  process.stderr.write(`run.js: FAILED during "${step}": ${msg}\n`)
  cleanup()
  process.exit(1)
}

process.on('SIGINT', () => fail('interrupted (SIGINT)'))
process.on('SIGTERM', () => fail('terminated (SIGTERM)'))
process.on('uncaughtException', (e) => fail(e && e.stack ? e.stack : String(e)))
process.on('unhandledRejection', (e) => fail(e && e.stack ? e.stack : String(e)))
process.on('exit', () => cleanup())
const overall = setTimeout(() => fail(`gave up after ${TOTAL_TIMEOUT_MS / 1000} s`), TOTAL_TIMEOUT_MS)
overall.unref()

// ---------------------------------------------------------------- helpers
function freePort () {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

// A forked peer.js, driven by request/reply over IPC.
function startPeer (label) {
  const child = fork(path.join(__dirname, 'peer.js'), [], {
    stdio: ['ignore', 2, 2, 'ipc'], // the child's stdout goes to our stderr
  })
  children.push(child)
  const pending = new Map()
  let nextId = 1
  child.on('message', (m) => {
    const w = pending.get(m.id)
    if (!w) return
    pending.delete(m.id)
    if (m.ok) w.resolve(m.result)
    else w.reject(new Error(`${label}.${w.cmd}: ${m.error}`))
  })
  child.on('exit', (code, sig) => {
    if (!finished && !child.expectedExit) fail(`peer ${label} exited (code ${code}, signal ${sig})`)
    for (const w of pending.values()) w.reject(new Error(`peer ${label} exited`))
    pending.clear()
  })
  child.on('error', (e) => fail(`peer ${label}: ${e.message}`))
  return {
    label,
    child,
    call (cmd, args) {
      return new Promise((resolve, reject) => {
        const id = nextId++
        pending.set(id, { resolve, reject, cmd })
        child.send({ id, cmd, args })
      })
    },
  }
}

// TCP proxy between B (client) and A (server), counting every byte either way.
function startProxy (targetPort) {
  const counts = { aToB: 0, bToA: 0 }
  const sockets = new Set()
  const server = net.createServer((down) => {
    const up = net.connect(targetPort, '127.0.0.1')
    for (const s of [down, up]) { s.setNoDelay(true); sockets.add(s) }
    down.on('data', (d) => { counts.bToA += d.length; if (!up.write(d)) down.pause() })
    up.on('data', (d) => { counts.aToB += d.length; if (!down.write(d)) up.pause() })
    up.on('drain', () => down.resume())
    down.on('drain', () => up.resume())
    const close = () => { down.destroy(); up.destroy() }
    down.on('close', () => { sockets.delete(down); close() })
    up.on('close', () => { sockets.delete(up); close() })
    down.on('error', close)
    up.on('error', close)
  })
  return new Promise((resolve, reject) => {
    server.on('error', reject)
    server.listen(0, '127.0.0.1', () => {
      resolve({
        port: server.address().port,
        total: () => counts.aToB + counts.bToA,
        snapshot: () => ({ ...counts }),
        open: () => sockets.size,
        destroy () { for (const s of sockets) s.destroy(); server.close() },
      })
    })
  })
}

function since (snap) {
  const now = proxy.snapshot()
  const aToB = now.aToB - snap.aToB
  const bToA = now.bToA - snap.bToA
  return { bytes: aToB + bToA, aToB, bToA }
}

function expectSeqs (got, top, n) {
  const want = []
  for (let s = top; s > top - n && s >= 1; s--) want.push(s)
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`newest posts on B are ${JSON.stringify(got.slice(0, 5))}..., expected ${JSON.stringify(want.slice(0, 5))}...`)
  }
}

const mb = (b) => (b / 1e6).toFixed(2) + ' MB'

// ---------------------------------------------------------------- the run
async function main () {
  const N = opts.posts
  tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), 'rookery-ssb-bench-'))
  const dirA = path.join(tmpRoot, 'a')
  const dirB = path.join(tmpRoot, 'b')
  fs.mkdirSync(dirA)
  fs.mkdirSync(dirB)

  const keysA = ssbKeys.generate()
  const keysB = ssbKeys.generate()
  const portA = await freePort()
  const portB = await freePort()

  step = 'starting peers'
  const A = startPeer('A')
  const B = startPeer('B')
  await Promise.all([
    A.call('init', { dir: dirA, keys: keysA, port: portA, label: 'A' }),
    B.call('init', { dir: dirB, keys: keysB, port: portB, label: 'B' }),
  ])
  proxy = await startProxy(portA)
  const addrA = `net:127.0.0.1:${proxy.port}~shs:${keysA.public.replace(/\.ed25519$/, '')}`
  log(`A=${keysA.id} on ${portA}, B=${keysB.id}, proxy on ${proxy.port}, dbs in ${tmpRoot}`)

  // ---- setup: A publishes N posts (not measured)
  step = `A publishes ${N} posts`
  const pub = await A.call('publishPosts', { count: N })
  log(`A published ${pub.seq} posts in ${pub.ms} ms`)

  // ---- B follows A; the scheduler asks B's EBT for A's feed
  step = 'B follows A'
  await B.call('follow', { ids: [keysA.id] })

  // ---- cold_first_screen + full_sync: B connects with nothing
  step = 'cold sync (B connects, replicates A from seq 1)'
  let snap = proxy.snapshot()
  let t0 = Date.now()
  await B.call('connect', { address: addrA })
  const full = await B.call('waitClock', { targets: { [keysA.id]: N } })
  const fullBytes = since(snap)
  const fullMs = full.at - t0
  const screen = await B.call('newestPosts', { feed: keysA.id, n: SCREEN })
  const screenBytes = since(snap)
  const screenMs = screen.at - t0
  expectSeqs(screen.seqs, N, SCREEN)
  log(`full sync: ${fullMs} ms, ${mb(fullBytes.bytes)} (A->B ${fullBytes.aToB}, B->A ${fullBytes.bToA}); first screen at ${screenMs} ms`)

  // ---- catch_up_10: B offline, A publishes 10, B reconnects
  step = 'catch-up: B disconnects'
  await B.call('disconnect')
  for (let i = 0; proxy.open() > 0; i++) {
    if (i > 100) throw new Error('proxy connections did not close after B disconnected')
    await sleep(50)
  }
  await sleep(200)
  step = 'catch-up: A publishes 10 posts while B is offline'
  await A.call('publishPosts', { count: 10 })
  step = 'catch-up: B reconnects and fetches 10 posts'
  snap = proxy.snapshot()
  t0 = Date.now()
  await B.call('connect', { address: addrA })
  const caught = await B.call('waitClock', { targets: { [keysA.id]: N + 10 } })
  const catchBytes = since(snap)
  const catchMs = caught.at - t0
  const catchScreen = await B.call('newestPosts', { feed: keysA.id, n: SCREEN })
  expectSeqs(catchScreen.seqs, N + 10, SCREEN)
  log(`catch-up 10 (reconnect): ${catchMs} ms, ${catchBytes.bytes} B`)

  // informational: the same 10 posts pushed over the live connection
  step = 'catch-up (live, informational): A publishes 10 posts with B connected'
  await sleep(300)
  snap = proxy.snapshot()
  t0 = Date.now()
  await A.call('publishPosts', { count: 10 })
  const tPub = Date.now()
  const live = await B.call('waitClock', { targets: { [keysA.id]: N + 20 } })
  const liveBytes = since(snap)
  log(`catch-up 10 (live): ${live.at - tPub} ms after publishing (${live.at - t0} ms from first publish), ${liveBytes.bytes} B`)

  // ---- notify_200: B follows 200 authors, replicates them, 5 of them mention B
  const M = opts.authors
  const P = opts.perAuthor
  step = `notify setup: ${M} authors publish ${P} posts each into A`
  const authors = Array.from({ length: M }, () => ssbKeys.generate())
  const pa = await A.call('publishAuthors', { authors, perAuthor: P })
  log(`${M} authors x ${P} posts published into A in ${pa.ms} ms`)
  step = `notify setup: B follows ${M} authors and replicates them`
  const tf = Date.now()
  await B.call('follow', { ids: authors.map((k) => k.id) })
  const targets = {}
  for (const k of authors) targets[k.id] = P
  await B.call('waitClock', { targets })
  log(`B replicated ${M} x ${P} posts in ${Date.now() - tf} ms (setup, not measured)`)
  // A real client has its notification query open already: build the jitdb
  // mentions index now, so the measurement sees its incremental update only.
  const warm = await B.call('mentionsOf', { target: keysB.id })
  if (warm.keys.length !== 0) throw new Error('B is mentioned before the notify case started')
  await sleep(1000) // let EBT notes settle before counting

  step = 'notify: 5 authors mention B'
  const five = [0, 1, 2, 3, 4].map((i) => authors[Math.floor((i * M) / 5)])
  snap = proxy.snapshot()
  t0 = Date.now()
  const men = await A.call('publishMentions', { authors: five, target: keysB.id })
  const wantMent = {}
  for (const m of men.msgs) wantMent[m.author] = m.seq
  const held = await B.call('waitClock', { targets: wantMent })
  const found = await B.call('mentionsOf', { target: keysB.id })
  const notifyBytes = since(snap)
  const notifyMs = found.at - t0
  const missing = men.msgs.filter((m) => !found.keys.includes(m.key))
  if (missing.length || found.keys.length !== 5) {
    throw new Error(`B's mention query returned ${found.keys.length} posts, missing ${missing.length}`)
  }
  log(`notify: 5 mentions on B after ${notifyMs} ms (held at ${held.at - t0} ms, publishing took ${men.ms} ms), ${notifyBytes.bytes} B`)

  // ---- shut down
  step = 'shutting down'
  for (const c of children) c.expectedExit = true
  await Promise.race([
    Promise.all([B.call('close'), A.call('close')]).catch(() => {}),
    sleep(5000),
  ])

  const result = {
    cold_first_screen: {
      bytes: screenBytes.bytes,
      round_trips: null,
      ms: screenMs,
      note: `SSB replicates from seq 1: the whole log before the newest 32. B (empty) follows A, ` +
        `connects through the proxy; measured until B's db holds all ${N} of A's posts and an ` +
        `indexed query of A's newest ${SCREEN} posts returns them (includes SHS handshake). ` +
        `A->B ${screenBytes.aToB} B, B->A ${screenBytes.bToA} B.`,
    },
    catch_up_10: {
      bytes: catchBytes.bytes,
      round_trips: null,
      ms: catchMs,
      note: `B disconnected, A published 10 posts, B reconnects (new SHS handshake + EBT clock ` +
        `exchange); measured from connect until B holds all 10. A->B ${catchBytes.aToB} B, ` +
        `B->A ${catchBytes.bToA} B. For reference, the same over the live connection: ` +
        `${liveBytes.bytes} B, ${live.at - tPub} ms after the 10 were published.`,
    },
    notify_200: {
      bytes: notifyBytes.bytes,
      round_trips: null,
      ms: notifyMs,
      note: `B follows ${M} authors (${P} posts each, served by A) and is fully replicated, ` +
        `connected live. 5 authors each publish one post with mentions=[B]; measured from the ` +
        `start of publishing (${men.ms} ms of it) until B's (already built) mentions index query returns all 5 ` +
        `(held in B's log at ${held.at - t0} ms). EBT pushes the new messages; B->A ` +
        `${notifyBytes.bToA} B, A->B ${notifyBytes.aToB} B.`,
    },
    full_sync: {
      bytes: fullBytes.bytes,
      round_trips: null,
      ms: fullMs,
      note: `Same run as cold_first_screen: from connect until B's log holds all ${N} posts ` +
        `(before index drain and query). A->B ${fullBytes.aToB} B, B->A ${fullBytes.bToA} B ` +
        `(${(fullBytes.bytes / N).toFixed(0)} B/post).`,
    },
  }

  finished = true
  await Promise.race([
    Promise.all(children.map((c) => new Promise((resolve) => {
      if (c.exitCode !== null || c.signalCode !== null) return resolve()
      c.once('exit', resolve)
      try { c.disconnect() } catch (_) { resolve() }
    }))),
    sleep(5000),
  ])
  cleanup()
  if (opts.json) {
    process.stdout.write(JSON.stringify(result) + '\n')
  } else {
    for (const [k, v] of Object.entries(result)) {
      process.stdout.write(`${k.padEnd(18)} ${String(v.ms).padStart(7)} ms  ${mb(v.bytes).padStart(11)}  ${v.note}\n`)
    }
  }
  process.exit(0)
}

main().catch((e) => fail(e && e.stack ? e.stack : String(e)))
