//! Image type sniffing.
import { describe, expect, it } from 'vitest';
import { sniffImageType } from './mime';

const bytes = (...b: number[]) => new Uint8Array(b);
const text = (s: string) => new TextEncoder().encode(s);

describe('sniffImageType', () => {
  it('knows the raster magics', () => {
    expect(sniffImageType(bytes(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0))).toBe('image/png');
    expect(sniffImageType(bytes(0xff, 0xd8, 0xff, 0xe0))).toBe('image/jpeg');
    expect(sniffImageType(text('GIF89a...'))).toBe('image/gif');
    expect(sniffImageType(text('RIFF\0\0\0\0WEBPVP8 '))).toBe('image/webp');
  });
  it('knows SVG, with or without a prolog', () => {
    expect(sniffImageType(text('<svg xmlns="http://www.w3.org/2000/svg"></svg>'))).toBe('image/svg+xml');
    expect(sniffImageType(text('<?xml version="1.0"?>\n<!-- hi -->\n<svg viewBox="0 0 1 1"/>'))).toBe('image/svg+xml');
  });
  it('says octet-stream for anything else', () => {
    expect(sniffImageType(text('hello'))).toBe('application/octet-stream');
    expect(sniffImageType(bytes())).toBe('application/octet-stream');
    expect(sniffImageType(text('RIFF\0\0\0\0WAVE'))).toBe('application/octet-stream');
  });
});
