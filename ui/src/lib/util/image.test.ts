//! Avatar crop geometry.
import { describe, expect, it } from 'vitest';
import { clampCrop, cropRect } from './image';

describe('cropRect', () => {
  it('fits the shorter side at zoom 1, centred', () => {
    expect(cropRect(400, 200, { zoom: 1, cx: 200, cy: 100 })).toEqual({ sx: 100, sy: 0, side: 200 });
  });
  it('shrinks the square as the zoom grows', () => {
    expect(cropRect(400, 200, { zoom: 2, cx: 200, cy: 100 })).toEqual({ sx: 150, sy: 50, side: 100 });
  });
  it('keeps the square inside the image', () => {
    expect(cropRect(400, 200, { zoom: 1, cx: 0, cy: 1000 })).toEqual({ sx: 0, sy: 0, side: 200 });
    expect(cropRect(400, 200, { zoom: 2, cx: 1000, cy: -5 })).toEqual({ sx: 300, sy: 0, side: 100 });
  });
});

describe('clampCrop', () => {
  it('limits the zoom to 1–8 and moves the centre inside', () => {
    expect(clampCrop(100, 100, { zoom: 0.2, cx: -50, cy: 500 })).toEqual({ zoom: 1, cx: 50, cy: 50 });
    expect(clampCrop(100, 100, { zoom: 20, cx: 0, cy: 0 }).zoom).toBe(8);
  });
});
