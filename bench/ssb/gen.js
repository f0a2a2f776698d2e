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

class Rng {
  constructor (seed = 42n) {
    this.state = BigInt(seed) & MASK64
  }

  // xorshift64*
  nextU64 () {
    let s = this.state
    s ^= s >> 12n
    s ^= (s << 25n) & MASK64
    s ^= s >> 27n
    this.state = s
    return (s * MULT) & MASK64
  }

  // uniform in [0, 1) from the top 53 bits
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

module.exports = { Rng, genPost, WORDS, MENTION_POOL }

if (require.main === module) {
  // `node gen.js 100000` prints summary statistics of the distribution.
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
