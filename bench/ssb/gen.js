'use strict'
// Deterministic post generator shared by both peers of the SSB benchmark.
// It must match the Rust side draw for draw (see README.md, "Post generator").

const crypto = require('crypto')

const MASK64 = (1n << 64n) - 1n
const MULT = 0x2545F4914F6CDD1Dn
const TWO53 = 2 ** 53

// 64 lowercase words; text = words joined by single spaces, cut to length.
const WORDS = [
  'the', 'of', 'and', 'to', 'in', 'is', 'it', 'that',
  'was', 'for', 'on', 'are', 'with', 'they', 'be', 'at',
  'one', 'have', 'this', 'from', 'by', 'hot', 'word', 'but',
  'what', 'some', 'we', 'can', 'out', 'other', 'were', 'all',
  'there', 'when', 'up', 'use', 'your', 'how', 'said', 'an',
  'each', 'she', 'which', 'do', 'their', 'time', 'if', 'will',
  'way', 'about', 'many', 'then', 'them', 'write', 'would', 'like',
  'so', 'these', 'her', 'long', 'make', 'thing', 'see', 'him',
]

// Mention targets: 16 fixed, syntactically valid feed ids that belong to
// nobody in the benchmark (so they never collide with B's own mentions).
const MENTION_POOL = Array.from({ length: 16 }, (_, k) => {
  const h = crypto.createHash('sha256').update('rookery-bench-mention-' + k).digest('base64')
  return '@' + h + '.ed25519'
})

// xorshift64*, exactly as specified, but on two uint32 halves instead of BigInt
// (about 20x faster; `node gen.js --check` compares it with the BigInt form).
const M_HI = 0x2545F491
const M_LO = 0x4F6CDD1D

// high 32 bits of the 64-bit product of two uint32 values
function mulHi32 (a, b) {
  const a0 = a & 0xffff; const a1 = a >>> 16
  const b0 = b & 0xffff; const b1 = b >>> 16
  const mid = a0 * b1 + a1 * b0 + ((a0 * b0) >>> 16)
  return (a1 * b1 + Math.floor(mid / 65536)) >>> 0
}

class Rng {
  constructor (seed = 42n) {
    const s = BigInt(seed) & MASK64
    this.hi = Number(s >> 32n) >>> 0
    this.lo = Number(s & 0xffffffffn) >>> 0
  }

  get state () { return (BigInt(this.hi) << 32n) | BigInt(this.lo) }

  // one xorshift step; leaves the new state in hi/lo
  _step () {
    let hi = this.hi; let lo = this.lo
    // s ^= s >> 12
    lo = (lo ^ ((lo >>> 12) | (hi << 20))) >>> 0
    hi = (hi ^ (hi >>> 12)) >>> 0
    // s ^= s << 25 (mod 2^64)
    hi = (hi ^ ((hi << 25) | (lo >>> 7))) >>> 0
    lo = (lo ^ (lo << 25)) >>> 0
    // s ^= s >> 27
    lo = (lo ^ ((lo >>> 27) | (hi << 5))) >>> 0
    hi = (hi ^ (hi >>> 27)) >>> 0
    this.hi = hi; this.lo = lo
  }

  nextU64 () {
    this._step()
    const lo = this.lo; const hi = this.hi
    const outLo = Math.imul(lo, M_LO) >>> 0
    const outHi = (mulHi32(lo, M_LO) + Math.imul(hi, M_LO) + Math.imul(lo, M_HI)) >>> 0
    return (BigInt(outHi) << 32n) | BigInt(outLo)
  }

  // uniform in [0, 1) from the top 53 bits
  nextF64 () {
    this._step()
    const lo = this.lo; const hi = this.hi
    const outLo = Math.imul(lo, M_LO) >>> 0
    const outHi = (mulHi32(lo, M_LO) + Math.imul(hi, M_LO) + Math.imul(lo, M_HI)) >>> 0
    // (out >> 11) / 2^53 = (outHi * 2^21 + (outLo >>> 11)) / 2^53
    return (outHi * 2097152 + (outLo >>> 11)) / TWO53
  }
}

// The reference form, on BigInt (slow; used by the self-check only).
class RngBig {
  constructor (seed = 42n) {
    this.state = BigInt(seed) & MASK64
  }

  nextU64 () {
    let s = this.state
    s ^= s >> 12n
    s ^= (s << 25n) & MASK64
    s ^= s >> 27n
    this.state = s
    return (s * MULT) & MASK64
  }

  nextF64 () {
    return Number(this.nextU64() >> 11n) / TWO53
  }
}

// Draw order per post (always 5 draws, then the words):
//   u_len, u_mention, u_target, u_reply, u_parent, then one draw per word.
//   length  = 40 + floor(560 * u_len^2.5)
//   mention = u_mention < 0.1  -> target = MENTION_POOL[floor(u_target * 16)]
//   reply   = u_reply   < 0.2 and index > 0 -> parent = floor(u_parent * index)
//   word    = WORDS[floor(u * 64)], appended with a single space until the
//             text is at least `length` long, then cut to exactly `length`.
// `index` is the post's 0-based position in its own feed.
function genPost (rng, index) {
  const uLen = rng.nextF64()
  const uMention = rng.nextF64()
  const uTarget = rng.nextF64()
  const uReply = rng.nextF64()
  const uParent = rng.nextF64()
  const length = 40 + Math.floor(560 * Math.pow(uLen, 2.5))
  let text = ''
  while (text.length < length) {
    const w = WORDS[Math.floor(rng.nextF64() * WORDS.length)]
    text = text.length === 0 ? w : text + ' ' + w
  }
  text = text.slice(0, length)
  const post = { text }
  if (uMention < 0.1) {
    const k = Math.floor(uTarget * MENTION_POOL.length)
    post.mention = { link: MENTION_POOL[k], name: 'friend' + k }
  }
  if (uReply < 0.2 && index > 0) post.replyTo = Math.floor(uParent * index)
  return post
}

module.exports = { Rng, RngBig, genPost, WORDS, MENTION_POOL }

if (require.main === module) {
  // `node gen.js 100000` prints summary statistics of the distribution;
  // `node gen.js --check` compares the fast Rng with the BigInt reference.
  if (process.argv[2] === '--check') {
    for (const seed of [42n, 1n, 0x9E3779B97F4A7C15n, MASK64, 123456789n]) {
      const a = new Rng(seed); const b = new RngBig(seed)
      for (let i = 0; i < 200000; i++) {
        const x = i % 2 ? a.nextF64() : Number(a.nextU64() >> 11n) / TWO53
        const y = b.nextF64()
        if (x !== y) { console.error(`mismatch seed ${seed} draw ${i}: ${x} != ${y}`); process.exit(1) }
      }
    }
    console.log('ok: fast Rng matches the BigInt reference')
    process.exit(0)
  }
  const n = Number(process.argv[2] || 100000)
  const rng = new Rng(42n)
  let chars = 0; let mentions = 0; let replies = 0; let min = Infinity; let max = 0
  for (let i = 0; i < n; i++) {
    const p = genPost(rng, i)
    chars += p.text.length
    min = Math.min(min, p.text.length)
    max = Math.max(max, p.text.length)
    if (p.mention) mentions++
    if (p.replyTo !== undefined) replies++
  }
  const first = genPost(new Rng(42n), 0)
  console.log(JSON.stringify({ n, meanChars: chars / n, min, max, mentions, replies, first }))
}
