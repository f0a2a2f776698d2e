#!/usr/bin/env node
'use strict'
// Side-by-side benchmark: real Secure Scuttlebutt peers (the JS stack Manyverse
// runs) on 127.0.0.1, talking through a delaying, byte-counting TCP proxy.
//
//   node run.js --posts N [--rtt-ms 0] [--runs 5] [--authors 200] [--per-author 20] [--json]
//   node run.js onboard [--follows 150] [--posts-each 2000] [--rtt-ms 0] [--runs 5] [--json]
//
// With --json, stdout carries exactly one JSON object; all logs go to stderr.
// See README.md for what each case measures.

const fs = require('fs')
const path = require('path')
const ssbKeys = require('ssb-keys')
const { startProxy, SHS_BYTES } = require('./proxy')
const L = require('./lib')
const { log, now, setStep, startPeer, freePort, figure, mb, list, checkHandshakes, currentHandshake, expectKeys } = L

const SCREEN = 32

// ---------------------------------------------------------------- arguments
const USAGE =
  'usage: node run.js --posts N [--rtt-ms 0] [--runs 5] [--authors 200] [--per-author 20] [--json]\n' +
  '       node run.js onboard [--follows 150] [--posts-each 2000] [--rtt-ms 0] [--runs 5] [--json]\n'

function usage (err) {
  if (err) { process.stderr.write(`run.js: ${err}\n${USAGE}`); process.exit(2) }
  process.stdout.write(USAGE)
  process.exit(0)
}

function parseArgs (argv) {
  const o = { mode: 'sync', posts: null, json: false, authors: 200, perAuthor: 20, rttMs: 0, runs: 5, follows: 150, postsEach: 2000 }
  let i = 0
  if (argv[0] === 'onboard') { o.mode = 'onboard'; i = 1 }
  for (; i < argv.length; i++) {
    const a = argv[i]
    const num = (min) => {
      const v = Number(argv[++i])
      if (!Number.isInteger(v) || v < min) usage(`${a} needs an integer >= ${min}`)
      return v
    }
    const both = () => { if (o.mode !== 'sync') usage(`${a} is not an option of onboard`) }
    const onb = () => { if (o.mode !== 'onboard') usage(`${a} is an option of "run.js onboard"`) }
    if (a === '--posts') { both(); o.posts = num(1) } else if (a === '--authors') { both(); o.authors = num(5) } else if (a === '--per-author') { both(); o.perAuthor = num(1) } else if (a === '--follows') { onb(); o.follows = num(1) } else if (a === '--posts-each') { onb(); o.postsEach = num(1) } else if (a === '--rtt-ms') o.rttMs = num(0)
    else if (a === '--runs') o.runs = num(1)
    else if (a === '--json') o.json = true
    else if (a === '-h' || a === '--help') usage(null)
    else usage(`unknown argument ${a}`)
  }
  if (o.mode === 'sync' && o.posts === null) usage('--posts N is required')
  return o
}

const mss = (runs) => list(runs.map((r) => r.ms))

// ---------------------------------------------------------------- the sync run
async function sync (opts) {
  const N = opts.posts
  const K = opts.runs
  const R = opts.rttMs
  const M = opts.authors
  const P = opts.perAuthor
  // proportional limit: publishing ~8k/s, EBT sync ~3k/s, a few s per small run
  const estS = 20 + N / 6000 + K * (6 + N / 2500) + M * P / 3000 + 4 * K * (3 + R / 50) + (R * N) / 2e6
  const limitMs = Math.round(Math.max(180, 3 * estS) * 1000)
  const deadline = now() + limitMs
  const left = () => Math.max(1000, deadline - now() - 5000)
  L.install(limitMs)

  const tmp = L.makeTmp('rookery-ssb-bench-')
  const keysA = ssbKeys.generate()
  const portA = await freePort()
  setStep('starting peer A')
  const A = startPeer('A')
  await A.call('init', { dir: path.join(tmp, 'a'), keys: keysA, port: portA, label: 'A' })
  const proxy = await startProxy({ targetPort: portA, rttMs: R })
  L.state.proxies.add(proxy)
  const addrA = `net:127.0.0.1:${proxy.port}~shs:${keysA.public.replace(/\.ed25519$/, '')}`
  log(`A=${keysA.id} on ${portA}, proxy on ${proxy.port} (RTT ${R} ms), ${K} run(s), dbs in ${tmp}`)

  // ---- setup: A publishes N posts (not measured)
  setStep(`A publishes ${N} posts`)
  const pub = await A.call('publishPosts', { count: N })
  let aKeys = pub.posts.map((x) => x.key) // A's message keys, in order
  let aSeq = pub.seq
  await A.call('drain')
  log(`A published ${aSeq} posts in ${Math.round(pub.ms)} ms`)
  const newestOfA = (n) => aKeys.slice(-n).reverse()

  // ---- cold_first_screen + full_sync: a fresh, empty B per run
  const cold = []
  let keep = null // {dir, keys} of the last cold run's B: it carries on below
  for (let r = 0; r < K; r++) {
    const tag = `cold run ${r + 1}/${K}`
    setStep(`${tag}: fresh B follows A`)
    const keysB = ssbKeys.generate()
    const dirB = path.join(tmp, `b${r}`)
    const B = startPeer(`B${r + 1}`)
    await B.call('init', { dir: dirB, keys: keysB, port: await freePort(), label: `B${r + 1}` })
    await B.call('follow', { ids: [keysA.id] })
    await proxy.quiet(50)
    setStep(`${tag}: B connects and replicates A from seq 1`)
    const snap = proxy.snapshot()
    const t0 = now()
    await B.call('connect', { address: addrA })
    const hs = checkHandshakes(proxy, snap, 1)
    const full = await B.call('waitClock', { targets: { [keysA.id]: N }, timeoutMs: left() })
    const screen = await B.call('newestPosts', { feed: keysA.id, n: SCREEN })
    expectKeys(screen.keys, newestOfA(SCREEN), `${tag}: newest ${SCREEN} posts of A`)
    const fb = proxy.since(snap, full.at)
    const sb = proxy.since(snap, screen.at)
    const { clock } = await B.call('clock')
    if (clock[keysA.id] !== N || clock[keysB.id] !== 1) throw new Error(`${tag}: B's clock is ${JSON.stringify(clock)}`)
    setStep(`${tag}: B disconnects and closes its database`)
    await B.call('disconnect')
    await proxy.allClosed()
    await B.stop()
    const disk = L.dirAllocated(dirB)
    const diskFiles = L.dirBytes(dirB)
    if (process.env.BENCH_DEBUG_DISK) require('child_process').execSync(`find ${dirB} -type f -printf '%s %p\n' >&2`)
    const msgs = N + 1
    cold.push({
      full: { ms: full.at - t0, bytes: fb.bytes - hs, withHs: fb.bytes, aToB: fb.aToB, bToA: fb.bToA },
      screen: { ms: screen.at - t0, bytes: sb.bytes - hs, withHs: sb.bytes, aToB: sb.aToB, bToA: sb.bToA },
      disk,
      diskFiles,
      msgs,
    })
    log(`${tag}: full sync ${Math.round(full.at - t0)} ms, ${mb(fb.bytes)}; first screen ${Math.round(screen.at - t0)} ms; ` +
      `disk ${mb(disk)} (${Math.round(disk / msgs)} B/msg; files ${Math.round(diskFiles / msgs)} B/msg)`)
    if (r < K - 1) fs.rmSync(dirB, { recursive: true, force: true })
    else keep = { dir: dirB, keys: keysB }
    proxy.trimHistory()
  }

  // ---- the last B reopens its database and stays connected from here on
  setStep('B reopens its database and reconnects')
  const B = startPeer('B')
  const reopened = await B.call('init', { dir: keep.dir, keys: keep.keys, port: await freePort(), label: 'B' })
  if (reopened.msgs !== N + 1) throw new Error(`reopened B holds ${reopened.msgs} messages, expected ${N + 1}`)
  const idB = keep.keys.id
  await B.call('waitRequested', { ids: [keysA.id] })
  await B.call('connect', { address: addrA })
  await proxy.quiet(500)

  // ---- catch_up_10 (live): B connected, A publishes 10
  // Warm-up (not measured): right after a connect A's EBT is not in transmit
  // mode for its feed towards B, so the first new post goes note -> request ->
  // read from A's db. One post brings the link to its steady live state.
  setStep('catch_up_10 (live): warm-up post')
  await proxy.quiet(300)
  const tw = now()
  const w1 = await A.call('publishPosts', { count: 1 })
  const gw = await B.call('waitClock', { targets: { [keysA.id]: w1.seq }, timeoutMs: left() })
  aKeys = aKeys.concat(w1.posts.map((x) => x.key)); aSeq = w1.seq
  const warmMs = gw.at - tw
  log(`catch_up_10 warm-up: 1 post in ${Math.round(warmMs)} ms`)
  const live = []
  for (let r = 0; r < K; r++) {
    setStep(`catch_up_10 (live) run ${r + 1}/${K}`)
    await proxy.quiet(300)
    const hs = currentHandshake(proxy)
    const snap = proxy.snapshot()
    const t0 = now()
    const p10 = await A.call('publishPosts', { count: 10 })
    const got = await B.call('waitClock', { targets: { [keysA.id]: p10.seq }, timeoutMs: left() })
    const b = proxy.since(snap, got.at)
    aKeys = aKeys.concat(p10.posts.map((x) => x.key)); aSeq = p10.seq
    const page = await B.call('newestPosts', { feed: keysA.id, n: SCREEN })
    expectKeys(page.keys, newestOfA(SCREEN), `catch_up_10 run ${r + 1}`)
    if (proxy.connsSince(snap).length !== 0) throw new Error('a new connection was opened during the live case')
    live.push({ ms: got.at - t0, bytes: b.bytes, withHs: b.bytes + hs, pubMs: p10.ms })
    log(`catch_up_10 run ${r + 1}: ${Math.round(got.at - t0)} ms (publishing ${Math.round(p10.ms)} ms), ${b.bytes} B`)
  }
  proxy.trimHistory()

  // ---- catch_up_10_reconnect: B offline, A publishes 10, B reconnects
  const recon = []
  for (let r = 0; r < K; r++) {
    const tag = `catch_up_10_reconnect run ${r + 1}/${K}`
    setStep(`${tag}: B disconnects, A publishes 10`)
    await B.call('disconnect')
    await proxy.allClosed()
    const p10 = await A.call('publishPosts', { count: 10 })
    aKeys = aKeys.concat(p10.posts.map((x) => x.key)); aSeq = p10.seq
    await A.call('drain') // the posts are on A's disk and indexed, as they would be long before B returns
    await proxy.quiet(50)
    setStep(`${tag}: B reconnects`)
    const snap = proxy.snapshot()
    const t0 = now()
    await B.call('connect', { address: addrA })
    const hs = checkHandshakes(proxy, snap, 1)
    const got = await B.call('waitClock', { targets: { [keysA.id]: p10.seq }, timeoutMs: left() })
    const b = proxy.since(snap, got.at)
    const page = await B.call('newestPosts', { feed: keysA.id, n: SCREEN })
    expectKeys(page.keys, newestOfA(SCREEN), tag)
    recon.push({ ms: got.at - t0, bytes: b.bytes - hs, withHs: b.bytes })
    log(`${tag}: ${Math.round(got.at - t0)} ms, ${b.bytes} B`)
    await proxy.quiet(200)
  }
  proxy.trimHistory()
  if (aSeq !== N + 1 + 20 * K) throw new Error(`A's feed is at ${aSeq}, expected ${N + 1 + 20 * K}`)

  // ---- notify_200: B follows M authors served by A; offline; 5 mention B; reconnect
  setStep(`notify setup: ${M} authors publish ${P} posts each into A`)
  const authors = Array.from({ length: M }, () => ssbKeys.generate())
  const pa = await A.call('publishAuthors', { authors, perAuthor: P })
  await A.call('drain')
  log(`${M} authors x ${P} posts published into A in ${Math.round(pa.ms)} ms`)
  setStep(`notify setup: B follows ${M} authors and replicates them`)
  const tf = now()
  await B.call('follow', { ids: authors.map((k) => k.id) })
  const targets = {}
  for (const k of authors) targets[k.id] = P
  await B.call('waitClock', { targets, timeoutMs: left() })
  log(`B replicated ${M} x ${P} posts in ${Math.round(now() - tf)} ms (setup, not measured)`)
  // A real client has its notification query open already: build the jitdb
  // mentions index now, so the measurement sees its incremental update only.
  const warm = await B.call('mentionsOf', { target: idB })
  if (warm.keys.length !== 0) throw new Error('B is mentioned before the notify case started')
  await proxy.quiet(1000)
  const notify = []
  const perAuthorSeq = new Map(authors.map((k) => [k.id, P]))
  let mentionKeys = []
  for (let r = 0; r < K; r++) {
    const tag = `notify_200 run ${r + 1}/${K}`
    setStep(`${tag}: B goes offline, 5 authors mention B`)
    await B.call('disconnect')
    await proxy.allClosed()
    const five = [0, 1, 2, 3, 4].map((i) => authors[(Math.floor((i * M) / 5) + r) % M])
    const men = await A.call('publishMentions', { authors: five, target: idB })
    const want = {}
    for (const m of men.msgs) {
      if (m.seq !== perAuthorSeq.get(m.author) + 1) throw new Error(`unexpected seq ${m.seq} for ${m.author}`)
      perAuthorSeq.set(m.author, m.seq)
      want[m.author] = m.seq
    }
    await A.call('drain')
    await proxy.quiet(50)
    setStep(`${tag}: B reconnects and queries its mentions`)
    const snap = proxy.snapshot()
    const t0 = now()
    await B.call('connect', { address: addrA })
    const hs = checkHandshakes(proxy, snap, 1)
    const held = await B.call('waitClock', { targets: want, timeoutMs: left() })
    const found = await B.call('mentionsOf', { target: idB })
    const b = proxy.since(snap, found.at)
    mentionKeys = mentionKeys.concat(men.msgs.map((m) => m.key))
    const missing = men.msgs.filter((m) => !found.keys.includes(m.key))
    if (missing.length || found.keys.length !== mentionKeys.length || !mentionKeys.every((k) => found.keys.includes(k))) {
      throw new Error(`${tag}: B's mentions query returned ${found.keys.length} posts (expected ${mentionKeys.length}), ` +
        `${missing.length} of this run's 5 missing`)
    }
    notify.push({ ms: found.at - t0, bytes: b.bytes - hs, withHs: b.bytes, heldMs: held.at - t0 })
    log(`${tag}: all 5 in B's mentions query after ${Math.round(found.at - t0)} ms (in B's log at ${Math.round(held.at - t0)} ms), ${b.bytes} B`)
    await proxy.quiet(200)
  }

  const diskPerMsg = L.median(cold.map((c) => c.disk / c.msgs))
  const diskFilesPerMsg = L.median(cold.map((c) => c.diskFiles / c.msgs))
  const c0 = cold[cold.length - 1]
  const rttNote = R ? `Every chunk delayed RTT/2 = ${R / 2} ms each way by the proxy. ` : 'No added delay (loopback). '
  const hsNote = `bytes: after the ${SHS_BYTES}-byte secret handshake; bytes_with_handshake: including it.`
  const result = {
    rtt_ms: R,
    runs: K,
    cold_first_screen: figure(cold.map((c) => c.screen),
      `${rttNote}SSB replicates from seq 1: the whole log comes before the newest ${SCREEN}. A fresh, empty B per run ` +
      `follows A, then (clock starts) connects through the proxy; measured until B's db holds all ${N} of A's posts ` +
      `and an indexed query (author A, newest ${SCREEN} by arrival) returns exactly A's newest ${SCREEN}; SHS included. ` +
      `${hsNote} Runs (ms): ${mss(cold.map((c) => c.screen))}. Last run A->B ${c0.screen.aToB} B, B->A ${c0.screen.bToA} B.`),
    catch_up_10: figure(live,
      `${rttNote}Live: B connected and fully replicated, A publishes 10 posts (db.create, ~${Math.round(L.median(live.map((x) => x.pubMs)))} ms); ` +
      `measured from the first publish until B's log holds all 10 (EBT push; includes ssb-db2's 250 ms add-batch ` +
      `debounce, checked by a 125 ms interval). No new connection: bytes_with_handshake adds the ${SHS_BYTES} SHS bytes of the ` +
      `connection in use. Runs (ms): ${mss(live)}, repeated on the same peers, after one unmeasured warm-up post ` +
      `(${Math.round(warmMs)} ms: the first post after a connect goes EBT note -> request -> read from A's db).`),
    catch_up_10_reconnect: figure(recon,
      `${rttNote}B disconnected, A published 10 posts, then (clock starts) B reconnects: new SHS handshake, muxrpc, ` +
      `EBT clock exchange, the 10 posts; measured until B's log holds all 10. ${hsNote} Runs (ms): ${mss(recon)}, ` +
      `repeated on the same peers.`),
    notify_200: figure(notify,
      `${rttNote}B follows ${M} authors (${P} posts each, served by A) and is fully replicated; its mentions index ` +
      `(ssb-db2 operator mentions(B), jitdb) is built. B goes offline; 5 authors each publish one post with ` +
      `mentions=[B]; then (clock starts) B reconnects (SHS, EBT notes for ${M + 2} feeds) and is measured until its ` +
      `mentions query returns all 5 (in B's log after ${list(notify.map((x) => x.heldMs))} ms; the rest is db2's log ` +
      `write debounce and indexing). ${hsNote} Runs (ms): ${mss(notify)}, each with 5 other authors.`),
    full_sync: figure(cold.map((c) => c.full),
      `${rttNote}Same runs as cold_first_screen: from connect (SHS included) until B's log holds all ${N} posts ` +
      `(before the index drain and query). ${hsNote} Runs (ms): ${mss(cold.map((c) => c.full))}. ` +
      `${(c0.full.withHs / N).toFixed(0)} B/post on the wire. Disk after the sync: ${Math.round(c0.disk / 1e3)} kB ` +
      `for ${c0.msgs} messages (db2 log + all indexes, database closed).`),
    disk_bytes_per_message: Math.round(diskPerMsg),
    disk_file_bytes_per_message: Math.round(diskFilesPerMsg),
  }
  const peers = [B, A]
  if (opts.json) return L.finish(peers, result, null)
  let text = `SSB, ${N} posts, RTT ${R} ms, ${K} run(s): median [min-max]\n`
  for (const k of ['cold_first_screen', 'catch_up_10', 'catch_up_10_reconnect', 'notify_200', 'full_sync']) {
    const v = result[k]
    text += `${k.padEnd(22)} ${String(v.ms).padStart(9)} ms [${v.ms_min}-${v.ms_max}]  ${mb(v.bytes).padStart(10)} ` +
      `(+SHS ${mb(v.bytes_with_handshake)})\n`
  }
  text += `disk_bytes_per_message ${result.disk_bytes_per_message} (allocated; files ${result.disk_file_bytes_per_message})\n`
  return L.finish(peers, result, text)
}

// ---------------------------------------------------------------- entry
const opts = parseArgs(process.argv.slice(2))
const entry = opts.mode === 'onboard' ? () => require('./onboard').onboard(opts) : () => sync(opts)
entry().catch((e) => L.fail(e && e.stack ? e.stack : String(e)))

