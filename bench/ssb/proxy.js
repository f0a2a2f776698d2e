'use strict'
// TCP proxy between the follower (client side) and the pub (server side).
//
// - Latency: every chunk read from one side is written to the other side at
//   arrival + RTT/2 (setTimeout on a per-direction FIFO queue; chunks are never
//   reordered, a FIN is delayed like data). RTT 0 forwards at once.
// - Bytes: counts every byte in both directions, when it enters the proxy
//   (that is, when it is sent), per connection and in total, and keeps a
//   timestamped history so that a figure can ask "how many bytes had been sent
//   by time t" for a completion time t taken in another process.
// - Handshakes: SSB's secret handshake (SHS) has fixed sizes: the client sends
//   hello (64 B) + auth (112 B), the server sends hello (64 B) + accept (80 B).
//   The first 176 client->server bytes and the first 144 server->client bytes
//   of a connection are its handshake; the rest is muxrpc over box-stream.
//   handshakeBytes() returns those per connection; run.js cross-checks that
//   they are complete when the client's connect() has returned.
//
// Bandwidth is not limited (loopback). A direction stops reading when more
// than 16 MiB are waiting in its delay queue or the other socket's buffer is
// full, so memory stays bounded.

const net = require('net')
const { performance } = require('perf_hooks')

const now = () => performance.timeOrigin + performance.now()
const SHS_CLIENT_BYTES = 64 + 112
const SHS_SERVER_BYTES = 64 + 80
const SHS_BYTES = SHS_CLIENT_BYTES + SHS_SERVER_BYTES
const DEBUG = !!process.env.BENCH_DEBUG_PROXY // log every chunk to stderr
const HIGH_WATER = 16 << 20
const LOW_WATER = 4 << 20

function startProxy ({ targetPort, rttMs = 0, host = '127.0.0.1' }) {
  const oneWay = rttMs / 2
  const counts = { aToB: 0, bToA: 0 }
  const history = { base: 0, t: [], aToB: [], bToA: [] } // one entry per chunk; index = base + i
  const conns = [] // every connection ever, in opening order
  const open = new Set()
  let lastActivity = now()
  let queuedTotal = 0

  function record () {
    lastActivity = now()
    history.t.push(lastActivity)
    history.aToB.push(counts.aToB)
    history.bToA.push(counts.bToA)
  }

  // Forward src -> dst with a delay of `oneWay` ms per chunk.
  function pipe (conn, src, dst, dir) {
    const q = []
    let head = 0
    let qBytes = 0
    let timer = null
    let endQueued = false

    function setPaused () {
      const stop = qBytes > HIGH_WATER || dst.writableNeedDrain
      if (stop && !src.isPaused()) src.pause()
      else if (!stop && src.isPaused() && qBytes < LOW_WATER) src.resume()
    }

    function deliver (c) {
      if (c.end) { if (!dst.destroyed) dst.end(); return }
      qBytes -= c.buf.length
      queuedTotal -= c.buf.length
      if (!dst.destroyed) dst.write(c.buf)
    }

    function fire () {
      timer = null
      const t = now()
      while (head < q.length && q[head].due <= t + 0.25) deliver(q[head++])
      if (head > 1024 && head * 2 > q.length) { q.splice(0, head); head = 0 }
      setPaused()
      if (head < q.length) arm()
    }

    function arm () {
      if (timer) return
      timer = setTimeout(fire, Math.max(0, q[head].due - now()))
    }

    function enqueue (c) {
      if (oneWay <= 0 && head === q.length) { deliver(c); setPaused(); return }
      q.push(c)
      arm()
    }

    src.on('data', (buf) => {
      if (DEBUG) console.error(`[proxy] conn ${conn.id} +${(now() - conn.openedAt).toFixed(1)} ms ${dir} ${buf.length} B`)
      counts[dir] += buf.length
      conn[dir] += buf.length
      record()
      qBytes += buf.length
      queuedTotal += buf.length
      enqueue({ buf, due: now() + oneWay })
      setPaused()
    })
    dst.on('drain', setPaused)
    const end = () => {
      if (endQueued) return
      endQueued = true
      enqueue({ end: true, due: now() + oneWay })
    }
    src.on('end', end)
    src.on('close', () => {
      end()
      // if the other side does not close by itself, take it down
      setTimeout(() => { if (!dst.destroyed) dst.destroy() }, oneWay + 2000).unref()
    })
    return {
      pending: () => qBytes,
      // the connection is gone: drop what is still queued
      stop () {
        if (timer) clearTimeout(timer)
        timer = null
        queuedTotal -= qBytes
        qBytes = 0
        q.length = 0
        head = 0
      },
    }
  }

  const server = net.createServer({ allowHalfOpen: true }, (down) => {
    const up = net.connect({ port: targetPort, host, allowHalfOpen: true })
    const conn = { id: conns.length, openedAt: now(), aToB: 0, bToA: 0, closed: false, down, up }
    conns.push(conn)
    open.add(conn)
    for (const s of [down, up]) s.setNoDelay(true)
    const p1 = pipe(conn, down, up, 'bToA')
    const p2 = pipe(conn, up, down, 'aToB')
    conn.pending = () => p1.pending() + p2.pending()
    let closedSockets = 0
    const onClose = () => {
      if (++closedSockets < 2) return
      conn.closed = true
      p1.stop(); p2.stop()
      open.delete(conn)
    }
    down.on('close', onClose)
    up.on('close', onClose)
    const kill = () => { down.destroy(); up.destroy() }
    down.on('error', kill)
    up.on('error', kill)
  })

  return new Promise((resolve, reject) => {
    server.on('error', reject)
    server.listen(0, host, () => {
      const self = {
        port: server.address().port,
        rttMs,
        snapshot () {
          return { t: now(), aToB: counts.aToB, bToA: counts.bToA, conns: conns.length, hist: history.base + history.t.length }
        },
        // bytes sent since `snap`, up to time `t` (default: now)
        since (snap, t) {
          let aToB = counts.aToB
          let bToA = counts.bToA
          if (t !== undefined) {
            // last history entry (since the snapshot) with time <= t
            const first = snap.hist - history.base
            if (first < 0) throw new Error('proxy history was trimmed after this snapshot')
            let lo = first - 1
            let hi = history.t.length - 1
            while (lo < hi) {
              const mid = (lo + hi + 1) >> 1
              if (history.t[mid] <= t) lo = mid
              else hi = mid - 1
            }
            if (lo < first) { aToB = snap.aToB; bToA = snap.bToA } else { aToB = history.aToB[lo]; bToA = history.bToA[lo] }
          }
          aToB -= snap.aToB
          bToA -= snap.bToA
          return { bytes: aToB + bToA, aToB, bToA }
        },
        // connections opened since `snap`
        connsSince (snap) { return conns.slice(snap.conns) },
        current () { return [...open] },
        handshakeBytes (conn) {
          return Math.min(conn.bToA, SHS_CLIENT_BYTES) + Math.min(conn.aToB, SHS_SERVER_BYTES)
        },
        handshakeComplete (conn) {
          return conn.bToA >= SHS_CLIENT_BYTES && conn.aToB >= SHS_SERVER_BYTES
        },
        openCount: () => open.size,
        // resolve once no byte has moved for `ms` and nothing is in flight
        async quiet (ms, timeoutMs = 30000) {
          const t0 = now()
          for (;;) {
            const t = now()
            if (queuedTotal === 0 && t - lastActivity >= ms) return
            if (t - t0 > timeoutMs) throw new Error(`the link did not go quiet for ${ms} ms within ${timeoutMs} ms`)
            await new Promise((resolve) => setTimeout(resolve, Math.max(5, Math.min(50, ms / 4))))
          }
        },
        async allClosed (timeoutMs = 10000) {
          const t0 = now()
          while (open.size > 0) {
            if (now() - t0 > timeoutMs) throw new Error(`${open.size} proxied connection(s) still open after ${timeoutMs} ms`)
            await new Promise((resolve) => setTimeout(resolve, 10))
          }
        },
        // drop the per-chunk history (between measurements, to save memory)
        // (snapshots taken before this can no longer be asked about a past time)
        trimHistory () {
          history.base += history.t.length
          history.t.length = 0; history.aToB.length = 0; history.bToA.length = 0
        },
        destroy () {
          for (const c of open) { c.down.destroy(); c.up.destroy() }
          server.close()
        },
      }
      resolve(self)
    })
  })
}

module.exports = { startProxy, now, SHS_BYTES, SHS_CLIENT_BYTES, SHS_SERVER_BYTES }
