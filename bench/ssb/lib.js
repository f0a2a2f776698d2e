'use strict'
// Shared plumbing of run.js and onboard.js: temp dirs, child peers, cleanup,
// failure handling, the overall timeout, statistics.

const { fork } = require('child_process')
const fs = require('fs')
const net = require('net')
const os = require('os')
const path = require('path')
const { now, SHS_BYTES } = require('./proxy')

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

const state = {
  tmpRoot: null,
  children: new Set(),
  proxies: new Set(),
  step: 'starting',
  finished: false,
  name: 'run.js',
}

const log = (...a) => console.error(`[${state.name.replace(/\.js$/, '')}]`, ...a)

function setStep (s) { state.step = s }

function cleanup () {
  for (const c of state.children) {
    if (c.exitCode === null && c.signalCode === null) {
      try { c.kill('SIGKILL') } catch (_) {}
    }
  }
  for (const p of state.proxies) { try { p.destroy() } catch (_) {} }
  state.proxies.clear()
  if (state.tmpRoot) {
    try { fs.rmSync(state.tmpRoot, { recursive: true, force: true }) } catch (_) {}
    state.tmpRoot = null
  }
}

function fail (msg) {
  if (state.finished) return
  state.finished = true
  process.stderr.write(`${state.name}: FAILED during "${state.step}": ${msg}\n`)
  cleanup()
  process.exit(1)
}

let installed = false
function install (timeoutMs) {
  if (installed) return
  installed = true
  process.on('SIGINT', () => fail('interrupted (SIGINT)'))
  process.on('SIGTERM', () => fail('terminated (SIGTERM)'))
  process.on('uncaughtException', (e) => fail(e && e.stack ? e.stack : String(e)))
  process.on('unhandledRejection', (e) => fail(e && e.stack ? e.stack : String(e)))
  process.on('exit', () => cleanup())
  const t = setTimeout(() => fail(`gave up after the overall limit of ${Math.round(timeoutMs / 1000)} s`), timeoutMs)
  t.unref()
}

function makeTmp (prefix) {
  state.tmpRoot = fs.mkdtempSync(path.join(os.tmpdir(), prefix))
  return state.tmpRoot
}

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

// A forked peer.js, driven by request/reply over IPC.
function startPeer (label) {
  const child = fork(path.join(__dirname, 'peer.js'), [], {
    stdio: ['ignore', 2, 2, 'ipc'], // the child's stdout goes to our stderr
    execArgv: ['--max-old-space-size=8192'],
  })
  state.children.add(child)
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
    state.children.delete(child)
    if (!state.finished && !child.expectedExit) fail(`peer ${label} exited (code ${code}, signal ${sig})`)
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
    // close the database cleanly, then let the process exit
    async stop () {
      child.expectedExit = true
      await Promise.race([this.call('close').catch(() => {}), sleep(15000)])
      await Promise.race([
        new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve()
          child.once('exit', resolve)
          try { child.disconnect() } catch (_) { resolve() }
        }),
        sleep(5000),
      ])
      if (child.exitCode === null && child.signalCode === null) { try { child.kill('SIGKILL') } catch (_) {} }
    },
  }
}

// Total size in bytes of the files under dir (apparent sizes).
function dirBytes (dir) {
  let total = 0
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) total += dirBytes(p)
    else if (e.isFile()) total += fs.statSync(p).size
  }
  return total
}

// The bytes the disk holds for every file under dir: allocated blocks, as du counts them (a
// sparse file's holes hold none). dirBytes gives the files' lengths.
function dirAllocated (dir) {
  let total = 0
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name)
    if (e.isDirectory()) total += dirAllocated(p)
    else if (e.isFile()) total += fs.statSync(p).blocks * 512
  }
  return total
}

function median (xs) {
  const s = xs.slice().sort((a, b) => a - b)
  const n = s.length
  if (n === 0) return null
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2
}

const round1 = (x) => Math.round(x * 10) / 10

// Figure from K runs of {ms, bytes, withHs}: median/min/max of ms, median of bytes.
function figure (runs, note) {
  const ms = runs.map((r) => r.ms)
  return {
    bytes: Math.round(median(runs.map((r) => r.bytes))),
    bytes_with_handshake: Math.round(median(runs.map((r) => r.withHs))),
    round_trips: null,
    ms: round1(median(ms)),
    ms_min: round1(Math.min(...ms)),
    ms_max: round1(Math.max(...ms)),
    note,
  }
}

const mb = (b) => (b >= 1e6 ? (b / 1e6).toFixed(2) + ' MB' : b >= 1e4 ? (b / 1e3).toFixed(1) + ' kB' : b + ' B')
const list = (xs) => xs.map((x) => Math.round(x)).join(', ')

// The connections opened since `snap`: there must be exactly `n`, each with a
// complete secret handshake. Returns their handshake bytes.
function checkHandshakes (proxy, snap, n) {
  const conns = proxy.connsSince(snap)
  if (conns.length !== n) throw new Error(`expected ${n} new connection(s) through the proxy, saw ${conns.length}`)
  let hs = 0
  for (const c of conns) {
    if (!proxy.handshakeComplete(c)) {
      throw new Error(`connection ${c.id}: connect() returned before the SHS bytes passed (${c.bToA} B->A, ${c.aToB} A->B)`)
    }
    hs += proxy.handshakeBytes(c)
  }
  if (hs !== n * SHS_BYTES) throw new Error(`handshake bytes ${hs} != ${n} x ${SHS_BYTES}`)
  return hs
}

// The one connection in use; its handshake bytes.
function currentHandshake (proxy) {
  const cur = proxy.current()
  if (cur.length !== 1) throw new Error(`expected 1 open connection, there are ${cur.length}`)
  return proxy.handshakeBytes(cur[0])
}

function expectKeys (got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want)) {
    throw new Error(`${what}: B returned ${JSON.stringify(got.slice(0, 3))}... (${got.length}), expected ${JSON.stringify(want.slice(0, 3))}... (${want.length})`)
  }
}

// Finish: stop peers, clean up, print the result, exit 0.
async function finish (peers, result, text) {
  setStep('shutting down')
  await Promise.all(peers.map((p) => p.stop()))
  state.finished = true
  cleanup()
  await writeOut(text === null ? JSON.stringify(result) + '\n' : text)
  process.exit(0)
}

function writeOut (s) {
  return new Promise((resolve) => process.stdout.write(s, () => resolve()))
}

module.exports = {
  log, sleep, now, state, setStep, cleanup, fail, install, makeTmp, freePort, startPeer,
  dirBytes, dirAllocated, median, round1, figure, mb, list, finish, writeOut, checkHandshakes, currentHandshake, expectKeys,
}
