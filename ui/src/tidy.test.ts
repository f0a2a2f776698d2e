//! Tidy checks over the UI's sources: the boundaries the code relies on but no compiler checks.
//! - Only `src/lib/backend/tauri.ts` imports `@tauri-apps/*` (CONVENTIONS 13), and nothing outside
//!   `src/lib/backend/` names an `/api/` path: the transports are the only doors to the node.
//! - The API's types are the generated ones: none of them is declared again by hand.
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
  it('keeps @tauri-apps imports in the Tauri transport only', () => {
    const importers = sources.filter((f) => /(from|import)\s*\(?\s*['"]@tauri-apps\//.test(readFileSync(f, 'utf8')));
    expect(importers.map(rel)).toEqual(['src/lib/backend/tauri.ts']);
  });

  it('names /api/ paths only inside src/lib/backend/', () => {
    const offenders = sources.filter((f) => !rel(f).startsWith('src/lib/backend/') && readFileSync(f, 'utf8').includes('/api/'));
    expect(offenders.map(rel)).toEqual([]);
  });

  it('declares no API type by hand: they come from generated.ts', () => {
    const generated = readFileSync(join(SRC, 'lib/backend/generated.ts'), 'utf8');
    const names = [...generated.matchAll(/^export type (\w+)/gm)].map((m) => m[1]);
    expect(names).toContain('MessageView');
    const offenders: string[] = [];
    for (const f of sources.filter((s) => !s.endsWith('generated.ts'))) {
      for (const m of readFileSync(f, 'utf8').matchAll(/^\s*(?:export\s+)?(?:type|interface)\s+(\w+)/gm)) {
        if (names.includes(m[1])) offenders.push(`${rel(f)}: ${m[1]}`);
      }
    }
    expect(offenders).toEqual([]);
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
