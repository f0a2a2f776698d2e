// @vitest-environment jsdom
//! Post rendering: markdown in, only safe HTML out.
import { describe, expect, it } from 'vitest';
import { excerpt, mentionResolver, renderPost, shouldFold } from './markdown';

const ADA = 'a'.repeat(64);
const BOB = 'b'.repeat(64);
const names = new Map([
  [ADA, 'Ada'],
  [BOB, 'Bob Smith'],
]);
const nameOf = (k: string) => names.get(k) ?? null;

function dom(html: string): HTMLElement {
  const div = document.createElement('div');
  div.innerHTML = html;
  return div;
}

describe('renderPost', () => {
  it('renders an HTML img tag as text, not as an element', () => {
    const html = renderPost('<img src=x onerror=alert(1)>');
    const d = dom(html);
    expect(d.querySelector('img')).toBeNull();
    expect(d.textContent).toContain('<img src=x onerror=alert(1)>');
    expect(html).not.toMatch(/<img/i);
  });

  it('yields no javascript: href from a markdown link', () => {
    for (const src of ['[x](javascript:alert(1))', '[x](JaVaScRiPt:alert(1))', '[x](  javascript:alert(1))', '<javascript:alert(1)>', '[x](data:text/html,hi)', '[x](vbscript:x)']) {
      const d = dom(renderPost(src));
      for (const a of d.querySelectorAll('a')) {
        expect(a.getAttribute('href') ?? '').not.toMatch(/^\s*(javascript|data|vbscript):/i);
      }
      expect(d.innerHTML).not.toMatch(/href="\s*javascript:/i);
    }
  });

  it('keeps http(s) and mailto links, with safe rel/target', () => {
    const d = dom(renderPost('see [site](https://example.com/a?b=1) and mailto:me@example.com'));
    const a = d.querySelector('a[href^="https://"]')!;
    expect(a.getAttribute('href')).toBe('https://example.com/a?b=1');
    expect(a.getAttribute('rel')).toContain('noopener');
    expect(a.getAttribute('target')).toBe('_blank');
  });

  it('drops relative and in-app links', () => {
    const d = dom(renderPost('[me](/api/me) [frag](#/settings)'));
    for (const a of d.querySelectorAll('a')) expect(a.hasAttribute('href')).toBe(false);
  });

  it('linkifies bare URLs', () => {
    const d = dom(renderPost('go to https://example.org now'));
    expect(d.querySelector('a')?.getAttribute('href')).toBe('https://example.org');
  });

  it('renders basic markdown but no headings or images', () => {
    const d = dom(renderPost('# Title\n\n**bold** _it_ `code`\n\n![alt](https://example.com/x.png)'));
    expect(d.querySelector('h1')).toBeNull();
    expect(d.querySelector('img')).toBeNull();
    expect(d.querySelector('strong')?.textContent).toBe('bold');
    expect(d.querySelector('em')?.textContent).toBe('it');
    expect(d.querySelector('code')?.textContent).toBe('code');
  });

  it('never lets style attributes or tags through', () => {
    const html = renderPost('<style>body{}</style> <span style="color:red">x</span> <script>alert(1)</script>');
    const d = dom(html);
    expect(d.querySelector('style,script,[style],span')).toBeNull();
  });

  it('turns resolved mentions into profile links and leaves others as text', () => {
    const text = `hi @Ada and @${BOB} and @nobody, mail x@Ada.org`;
    const d = dom(renderPost(text, mentionResolver([ADA, BOB], nameOf)));
    const links = [...d.querySelectorAll('a.mention')];
    expect(links.map((a) => a.getAttribute('data-profile'))).toEqual([ADA, BOB]);
    expect(links.map((a) => a.textContent)).toEqual(['@Ada', `@${'bbbb…bb'}`]);
    expect(links.every((a) => !a.hasAttribute('href'))).toBe(true);
    expect(d.textContent).toContain('@nobody');
  });
});

describe('folding and excerpts', () => {
  it('folds long posts only', () => {
    expect(shouldFold('short')).toBe(false);
    expect(shouldFold('x'.repeat(701))).toBe(true);
    expect(shouldFold('a\n'.repeat(20))).toBe(true);
  });
  it('cuts excerpts on one line', () => {
    expect(excerpt('a\n\nb')).toBe('a b');
    expect(excerpt('x'.repeat(200), 10)).toBe('xxxxxxxxx…');
  });
  it('shows key mentions by name in excerpts', () => {
    expect(excerpt(`hi @${ADA} and @${BOB}!`, 140, nameOf)).toBe('hi @Ada and @bbbb…bb!');
    expect(excerpt(`mail@${ADA}`, 140, nameOf)).toBe(`mail@${ADA}`);
  });
});
