'use strict'
// `node run.js onboard`: a newcomer joins. A pub (A) holds F feeds x P posts
// (fastgen.js: distinct keys, gen.js texts, interleaved timestamps over one
// year). Per run, a fresh empty B follows all F authors and connects to A
// through the delaying proxy. Measured from connect start:
//   first page: B's db holds the newest 32 posts across all feeds (by
//     timestamp, known from the generated data) and the home-timeline query
//     (type post, newest 32 by timestamp) returns exactly them;
//   all: every feed is fully replicated.
// A's database is generated once and reused by all runs.

const fs = require('fs')
const path = require('path')
const ssbKeys = require('ssb-keys')
const { startProxy, SHS_BYTES } = require('./proxy')
const { generateLog } = require('./fastgen')
const L = require('./lib')
const { log, now, setStep, startPeer, freePort, mb, list, round1, median, checkHandshakes, expectKeys } = L

const PAGE = 32

async function onboard (opts) {
  const F = opts.follows
  const P = opts.postsEach
  const K = opts.runs
  const R = opts.rttMs
  const total = F * P
  // proportional limit: generation ~20k/s, A's indexing ~50k/s, EBT sync ~3k/s
  const estS = 30 + total / 15000 + total / 40000 + K * (6 + total / 2000 + F / 20) + (R * total) / 2e6
  const limitMs = Math.round(Math.max(180, 3 * estS) * 1000)
  const deadline = now() + limitMs
  const left = () => Math.max(1000, deadline - now() - 5000)
  L.install(limitMs)

  const tmp = L.makeTmp('rookery-ssb-onboard-')
  const dirA = path.join(tmp, 'a')
  setStep(`generating ${F} feeds x ${P} posts for A`)
  const gen = await generateLog({ dir: dirA, feeds: F, perFeed: P, log })
  log(`generated ${gen.messages} messages (${mb(gen.bytes)} of records) in ${gen.ms} ms ` +
    `(${Math.round(gen.messages / (gen.ms / 1000))}/s)`)
  if (gen.newest.length < Math.min(PAGE, total)) throw new Error('generator returned too few newest messages')

  setStep('starting pub A on the generated database')
  const keysA = ssbKeys.generate()
  const portA = await freePort()
  const A = startPeer('A')
  const initA = await A.call('init', { dir: dirA, keys: keysA, port: portA, label: 'A' })
  if (initA.msgs !== total || initA.feeds !== F) {
    throw new Error(`A's db2 sees ${initA.msgs} messages in ${initA.feeds} feeds, expected ${total} in ${F}`)
  }
  log(`A opened the generated database and indexed it in ${Math.round(initA.indexMs)} ms`)
  await A.call('request', { ids: gen.feedIds }) // A replicates (serves) the feeds
  const proxy = await startProxy({ targetPort: portA, rttMs: R })
  L.state.proxies.add(proxy)
  const addrA = `net:127.0.0.1:${proxy.port}~shs:${keysA.public.replace(/\.ed25519$/, '')}`

  const pageKeys = gen.newest.slice(0, PAGE).map((m) => m.key)
  const pageTargets = {}
  for (const m of gen.newest.slice(0, PAGE)) pageTargets[m.author] = Math.max(pageTargets[m.author] || 0, m.seq)
  const allTargets = {}
  for (const id of gen.feedIds) allTargets[id] = P

  const runs = []
  for (let r = 0; r < K; r++) {
    const tag = `onboard run ${r + 1}/${K}`
    setStep(`${tag}: fresh B follows ${F} authors`)
    const keysB = ssbKeys.generate()
    const dirB = path.join(tmp, `b${r}`)
    const B = startPeer(`B${r + 1}`)
    await B.call('init', { dir: dirB, keys: keysB, port: await freePort(), label: `B${r + 1}` })
    await B.call('follow', { ids: gen.feedIds })
    await proxy.quiet(100)
    setStep(`${tag}: B connects and replicates ${total} messages`)
    const snap = proxy.snapshot()
    const t0 = now()
    await B.call('connect', { address: addrA })
    const hs = checkHandshakes(proxy, snap, 1)
    const pageP = (async () => {
      const held = await B.call('waitClock', { targets: pageTargets, timeoutMs: left() })
      const page = await B.call('newestPage', { n: PAGE })
      return { held, page }
    })()
    const allP = B.call('waitClock', { targets: allTargets, timeoutMs: left() })
    const [pg, all] = await Promise.all([pageP, allP])
    expectKeys(pg.page.keys, pageKeys, `${tag}: newest ${PAGE} posts`)
    const pb = proxy.since(snap, pg.page.at)
    const ab = proxy.since(snap, all.at)
    const { clock } = await B.call('clock')
    for (const id of gen.feedIds) if (clock[id] !== P) throw new Error(`${tag}: B holds ${clock[id]} of ${P} posts of ${id}`)
    const run = {
      pageMs: pg.page.at - t0,
      heldMs: pg.held.at - t0,
      pageBytes: pb.bytes,
      pageBytesNoHs: pb.bytes - hs,
      allMs: all.at - t0,
      allBytes: ab.bytes,
      aToB: ab.aToB,
      bToA: ab.bToA,
    }
    runs.push(run)
    log(`${tag}: first page ${Math.round(run.pageMs)} ms (newest ${PAGE} held at ${Math.round(run.heldMs)} ms), ` +
      `${mb(run.pageBytes)}; all ${Math.round(run.allMs)} ms, ${mb(run.allBytes)}`)
    setStep(`${tag}: B disconnects`)
    await B.call('disconnect')
    await proxy.allClosed()
    await B.stop()
    fs.rmSync(dirB, { recursive: true, force: true })
    proxy.trimHistory()
  }

  // the median run (by first_page_ms) gives the bytes
  const byPage = runs.slice().sort((a, b) => a.pageMs - b.pageMs)
  const mid = byPage[(byPage.length - 1) >> 1]
  const pageMs = runs.map((x) => x.pageMs)
  const result = {
    rtt_ms: R,
    runs: K,
    follows: F,
    posts_each: P,
    first_page_ms: round1(median(pageMs)),
    first_page_ms_min: round1(Math.min(...pageMs)),
    first_page_ms_max: round1(Math.max(...pageMs)),
    first_page_bytes: Math.round(median(runs.map((x) => x.pageBytes))),
    first_page_bytes_without_handshake: Math.round(median(runs.map((x) => x.pageBytesNoHs))),
    all_ms: round1(median(runs.map((x) => x.allMs))),
    all_bytes: Math.round(median(runs.map((x) => x.allBytes))),
    note: `${R ? `Every chunk delayed RTT/2 = ${R / 2} ms each way by the proxy. ` : 'No added delay (loopback). '}` +
      `Pub A holds ${F} feeds x ${P} posts (${total} signed classic messages, distinct keys, gen.js texts, ` +
      `timestamps interleaved over one year; generated in ${Math.round(gen.ms / 1000)} s, A indexed them in ` +
      `${Math.round(initA.indexMs / 1000)} s; A is reused by all runs). Per run a fresh empty B publishes ${F} follows, ` +
      `then (clock starts) connects through the proxy (SHS included). first_page: until B's db holds the newest ${PAGE} ` +
      `posts across all feeds (by timestamp, from the generated data) and the query type(post), newest ${PAGE} by ` +
      `timestamp, returns exactly them; SSB replicates every feed from seq 1, so the page waits for those feeds' ` +
      `whole logs (the ${PAGE} were in B's log after ${list(runs.map((x) => x.heldMs))} ms). all: until B holds all ` +
      `${total} (runs: ${list(runs.map((x) => x.allMs))} ms; ${(mid.allBytes / total).toFixed(0)} B/message). ` +
      `first_page_bytes and all_bytes include the ${SHS_BYTES} SHS bytes. first_page runs (ms): ${list(pageMs)}. ` +
      `Median run: A->B ${mb(mid.aToB)}, B->A ${mb(mid.bToA)} until all.`,
  }
  const peers = [A]
  if (opts.json) return L.finish(peers, result, null)
  const text = `SSB onboarding, ${F} feeds x ${P} posts, RTT ${R} ms, ${K} run(s)\n` +
    `first page  ${result.first_page_ms} ms [${result.first_page_ms_min}-${result.first_page_ms_max}]  ` +
    `${mb(result.first_page_bytes)} (without SHS ${mb(result.first_page_bytes_without_handshake)})\n` +
    `all         ${result.all_ms} ms  ${mb(result.all_bytes)}\n`
  return L.finish(peers, result, text)
}

module.exports = { onboard }
