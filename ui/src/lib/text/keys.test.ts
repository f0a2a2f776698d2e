//! Keys, short keys and follow-address checking.
import { describe, expect, it } from 'vitest';
import { identiconSvg, identiconUrl } from './identicon';
import { checkAddress, displayName, isKey, shortKey } from './keys';

const KEY = '3f9' + '0'.repeat(59) + 'a1';

describe('keys', () => {
  it('knows a key', () => {
    expect(isKey(KEY)).toBe(true);
    expect(isKey(KEY.toUpperCase())).toBe(false);
    expect(isKey(KEY.slice(1))).toBe(false);
  });
  it('shortens keys and names people', () => {
    expect(shortKey(KEY)).toBe('3f90…a1');
    expect(displayName('  Ada ', KEY)).toBe('Ada');
    expect(displayName(null, KEY)).toBe('@3f90…a1');
    expect(displayName('  ', KEY)).toBe('@3f90…a1');
  });
});

describe('checkAddress', () => {
  it('accepts a key, lowering it', () => {
    expect(checkAddress(` ${KEY.toUpperCase()} `)).toEqual({ kind: 'key', value: KEY });
  });
  it('takes long base32-ish strings as ticket candidates', () => {
    const t = 'endpoint' + 'abcdefghijklmnopqrstuvwxyz234567'.repeat(3);
    expect(checkAddress(t)).toEqual({ kind: 'ticket', value: t });
  });
  it('explains what is wrong', () => {
    expect(checkAddress('')).toEqual({ kind: 'empty' });
    expect(checkAddress('abc123')).toMatchObject({ kind: 'invalid', message: expect.stringContaining('64 hex') });
    expect(checkAddress('endpointabc')).toMatchObject({ kind: 'invalid', message: expect.stringContaining('too short') });
    expect(checkAddress('endpoint abc' + 'x'.repeat(50))).toMatchObject({ kind: 'invalid', message: expect.stringContaining('spaces') });
    expect(checkAddress('https://example.com/' + 'x'.repeat(50))).toMatchObject({ kind: 'invalid' });
  });
});

describe('identicons', () => {
  it('are deterministic and differ between keys', () => {
    expect(identiconSvg(KEY)).toBe(identiconSvg(KEY));
    expect(identiconSvg(KEY)).not.toBe(identiconSvg('b'.repeat(64)));
    expect(identiconUrl(KEY)).toMatch(/^data:image\/svg\+xml;charset=utf-8,/);
  });
  it('are mirrored', () => {
    const rects = [...identiconSvg('f'.repeat(64)).matchAll(/<rect x="([\d.]+)" y="([\d.]+)" width="1"/g)];
    const xs = new Set(rects.map((m) => m[1]));
    expect(xs).toEqual(new Set(['1.5', '2.5', '3.5', '4.5', '5.5']));
  });
});
