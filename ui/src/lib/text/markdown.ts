//! Post text to safe HTML: markdown-it with raw HTML off, then DOMPurify with a short list of
//! tags and only http(s)/mailto links. Post text is untrusted input from anyone on the network,
//! so this is the only way post bodies reach the DOM.

import DOMPurify from 'dompurify';
import MarkdownIt from 'markdown-it';
import type { StateInline } from 'markdown-it';
import { shortKey } from './keys';
import { MENTION_TOKEN } from './mentions';

/** How the renderer learns who a mention refers to. */
export type MentionResolver = (token: string) => { key: string; label: string } | null;

type Env = { resolve?: MentionResolver };

const md = new MarkdownIt({ html: false, linkify: true, breaks: true, typographer: false });
// Headings would compete with the page's own headings, and remote images would leak the
// reader's address (and are blocked by the CSP anyway): both stay plain text.
md.disable(['heading', 'lheading', 'image']);

/** Characters that, just before an `@`, make it part of a word (an address) rather than a mention. */
const WORDISH = /[A-Za-z0-9_.\-/@]/;

md.inline.ruler.after('text', 'mention', (state: StateInline, silent: boolean) => {
  if (state.src.charCodeAt(state.pos) !== 0x40 /* @ */) return false;
  if (state.pos > 0 && WORDISH.test(state.src[state.pos - 1])) return false;
  const m = MENTION_TOKEN.exec(state.src.slice(state.pos));
  if (!m) return false;
  const env = state.env as Env;
  const hit = env.resolve?.(m[1]);
  if (!hit) return false;
  if (!silent) {
    const open = state.push('link_open', 'a', 1);
    open.attrs = [
      ['class', 'mention'],
      ['data-profile', hit.key],
      ['title', hit.key],
    ];
    const t = state.push('text', '', 0);
    t.content = `@${hit.label}`;
    state.push('link_close', 'a', -1);
  }
  state.pos += m[0].length;
  return true;
});

const ALLOWED_TAGS = [
  'p', 'br', 'strong', 'em', 's', 'del', 'code', 'pre', 'blockquote', 'ul', 'ol', 'li', 'a', 'hr',
  'table', 'thead', 'tbody', 'tr', 'th', 'td',
];
const ALLOWED_ATTR = ['href', 'title', 'class', 'data-profile', 'start', 'rel', 'target'];
/** Absolute http, https and mailto URLs only: no javascript:, data:, relative or app links. */
export const SAFE_URL = /^(?:https?:\/\/|mailto:)/i;

let purifier: ReturnType<typeof DOMPurify> | null = null;

function getPurifier(): ReturnType<typeof DOMPurify> | null {
  if (purifier) return purifier;
  if (typeof window === 'undefined') return null;
  const p = DOMPurify(window);
  if (!p.isSupported) return null;
  p.addHook('afterSanitizeAttributes', (node) => {
    if (node.nodeName !== 'A') return;
    const href = node.getAttribute('href');
    if (href !== null && !SAFE_URL.test(href)) node.removeAttribute('href');
    if (node.hasAttribute('href')) {
      // Clicks are caught and sent to the system browser; these only matter if that fails.
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer nofollow');
    }
    // Only the renderer's own mention links carry a profile key.
    const key = node.getAttribute('data-profile');
    if (key !== null && !/^[0-9a-f]{64}$/.test(key)) node.removeAttribute('data-profile');
  });
  purifier = p;
  return p;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** Sanitizes HTML with the post policy. Without a DOM to sanitize with, returns nothing. */
export function sanitize(html: string): string {
  const p = getPurifier();
  if (!p) return '';
  return p.sanitize(html, {
    ALLOWED_TAGS,
    ALLOWED_ATTR,
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    ALLOWED_URI_REGEXP: SAFE_URL,
    // Attributes whose values are no URLs (else they would be held to SAFE_URL too).
    ADD_URI_SAFE_ATTR: ['data-profile', 'start'],
    FORBID_TAGS: ['style', 'img', 'svg', 'math', 'form', 'iframe', 'script'],
    FORBID_ATTR: ['style'],
    RETURN_TRUSTED_TYPE: false,
  }) as string;
}

/**
 * Post text as safe HTML. Mentions that `resolve` knows become in-app profile links. Where no
 * DOM sanitizer is available the text is escaped as plain paragraphs instead.
 */
export function renderPost(text: string, resolve?: MentionResolver): string {
  if (!getPurifier()) {
    return text
      .split(/\n{2,}/)
      .map((para) => `<p>${escapeHtml(para).replace(/\n/g, '<br>')}</p>`)
      .join('');
  }
  const env: Env = { resolve };
  return sanitize(md.render(text, env));
}

/** A mention resolver from a post's resolved `mentions` keys and a key→name lookup. */
export function mentionResolver(mentions: string[], nameOf: (key: string) => string | null): MentionResolver {
  return (token) => {
    if (/^[0-9a-f]{64}$/.test(token)) {
      const name = nameOf(token);
      return { key: token, label: name && /^\S+$/.test(name) ? name : shortKey(token) };
    }
    const lower = token.toLowerCase();
    const hits = mentions.filter((k) => (nameOf(k) ?? '').trim().toLowerCase() === lower);
    return hits.length === 1 ? { key: hits[0], label: token } : null;
  };
}

/** Whether a post is long enough to fold behind "Show more". */
export function shouldFold(text: string): boolean {
  return text.length > 700 || text.split('\n').length > 14;
}

/**
 * Text of a post on one line, cut to `max` characters, for previews. Key mentions read as
 * `@name` (or a short key) when `nameOf` is given.
 */
export function excerpt(text: string, max = 140, nameOf?: (key: string) => string | null): string {
  let flat = text.replace(/\s+/g, ' ').trim();
  if (nameOf) {
    flat = flat.replace(/(^|[^A-Za-z0-9_.\-/@])@([0-9a-f]{64})(?![0-9a-f])/g, (_, pre: string, key: string) => {
      const name = nameOf(key);
      return `${pre}@${name && /^\S+$/.test(name) ? name : shortKey(key)}`;
    });
  }
  return flat.length > max ? `${flat.slice(0, max - 1).trimEnd()}…` : flat;
}
