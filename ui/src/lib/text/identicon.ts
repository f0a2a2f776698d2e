//! Deterministic identicons: a 5×5 mirrored pattern (inset so a round crop keeps it whole) and a colour, both from the key's bytes,
//! as an SVG data URL (allowed by the CSP's `img-src data:`).

const cache = new Map<string, string>();

/** The hue (0–359) that stands for `key` in identicons and name colours. */
export function keyHue(key: string): number {
  const h = parseInt(key.slice(0, 6) || '0', 16);
  return Number.isFinite(h) ? h % 360 : 0;
}

/** An SVG identicon for a 64-hex key. Same key, same picture. */
export function identiconSvg(key: string): string {
  const hex = /^[0-9a-f]+$/i.test(key) && key.length >= 16 ? key.toLowerCase() : fallbackHex(key);
  const hue = keyHue(hex);
  const fg = `hsl(${hue} 55% 48%)`;
  const bg = `hsl(${hue} 45% 92%)`;
  const cells: string[] = [];
  // 15 bits decide the left three columns; the right two mirror them.
  for (let row = 0; row < 5; row++) {
    for (let col = 0; col < 3; col++) {
      const nibble = parseInt(hex[6 + row * 3 + col] ?? '0', 16);
      if (nibble % 2 === 0) continue;
      const xs = col === 2 ? [2] : [col, 4 - col];
      for (const x of xs) cells.push(`<rect x="${x + 1.5}" y="${row + 1.5}" width="1" height="1"/>`);
    }
  }
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 8 8" shape-rendering="crispEdges"><rect width="8" height="8" fill="${bg}"/><g fill="${fg}">${cells.join('')}</g></svg>`;
}

/** `identiconSvg` as a data URL, cached per key. */
export function identiconUrl(key: string): string {
  let url = cache.get(key);
  if (!url) {
    url = `data:image/svg+xml;charset=utf-8,${encodeURIComponent(identiconSvg(key))}`;
    cache.set(key, url);
  }
  return url;
}

function fallbackHex(s: string): string {
  // Not a key (should not happen): hash the string into hex so it still gets a stable picture.
  let h = 2166136261;
  let out = '';
  for (let round = 0; out.length < 32; round++) {
    for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619) >>> 0;
    h = Math.imul(h ^ round, 16777619) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out;
}
