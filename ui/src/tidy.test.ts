//! Tidy checks over the UI's sources: the boundaries the code relies on but no compiler checks.
//! - Only `src/lib/backend/` imports `@tauri-apps/*` (CONVENTIONS 13).
//! - Nothing needs `style-src 'unsafe-inline'`: no style attributes in markup, no
//!   `setAttribute('style')`, no `<style>` in index.html, no inline scripts.
//! - `{@html}` is used only for sanitized post bodies.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SRC = join(ROOT, 'src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

const sources = files(SRC).filter((f) => /\.(ts|svelte)$/.test(f) && !f.endsWith('.test.ts'));
const rel = (f: string) => relative(ROOT, f);

describe('tidy', () => {
  it('keeps @tauri-apps imports inside src/lib/backend/', () => {
    const offenders = sources.filter((f) => !rel(f).startsWith('src/lib/backend/') && /from\s+['"]@tauri-apps\//.test(readFileSync(f, 'utf8')));
    expect(offenders.map(rel)).toEqual([]);
  });

  it('has no inline style attributes or style writes that a strict CSP would block', () => {
    const offenders: string[] = [];
    for (const f of sources) {
      const text = readFileSync(f, 'utf8');
      const markup = f.endsWith('.svelte') ? text.replace(/<script[\s\S]*?<\/script>/g, '').replace(/<style[\s\S]*?<\/style>/g, '') : '';
      if (/\sstyle\s*=/.test(markup)) offenders.push(`${rel(f)}: style="…" attribute`);
      if (/setAttribute\(\s*['"]style['"]/.test(text)) offenders.push(`${rel(f)}: setAttribute('style')`);
      if (/\.innerHTML\s*=/.test(text)) offenders.push(`${rel(f)}: innerHTML assignment`);
    }
    expect(offenders).toEqual([]);
  });

  it('uses {@html} only on sanitized post HTML', () => {
    const uses: string[] = [];
    for (const f of sources.filter((s) => s.endsWith('.svelte'))) {
      for (const m of readFileSync(f, 'utf8').matchAll(/\{@html\s+([^}]+)\}/g)) uses.push(`${rel(f)}: ${m[1].trim()}`);
    }
    expect(uses.sort()).toEqual(['src/lib/components/Composer.svelte: previewHtml', 'src/lib/components/Post.svelte: html']);
  });

  it('keeps index.html free of inline scripts and styles', () => {
    const html = readFileSync(join(ROOT, 'index.html'), 'utf8');
    expect(html).not.toMatch(/<style/i);
    expect(html).not.toMatch(/\sstyle\s*=/i);
    for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)) {
      expect(m[1]).toMatch(/\ssrc=/);
      expect(m[2].trim()).toBe('');
    }
  });
});
