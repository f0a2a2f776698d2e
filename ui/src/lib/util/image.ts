//! Avatar cropping: a square region of an image, drawn to a canvas and exported as PNG under
//! the size limit.

export const AVATAR_MAX_BYTES = 1024 * 1024;

export type Crop = {
  /** Zoom: 1 fits the shorter side to the square. */
  zoom: number;
  /** Centre of the square, in image pixels. */
  cx: number;
  cy: number;
};

/** The source rectangle (in image pixels) that a crop shows. */
export function cropRect(w: number, h: number, c: Crop): { sx: number; sy: number; side: number } {
  const side = Math.min(w, h) / Math.max(1, c.zoom);
  const half = side / 2;
  const cx = Math.min(Math.max(c.cx, half), w - half);
  const cy = Math.min(Math.max(c.cy, half), h - half);
  return { sx: cx - half, sy: cy - half, side };
}

/** A crop clamped so the square stays inside the image. */
export function clampCrop(w: number, h: number, c: Crop): Crop {
  const zoom = Math.min(Math.max(c.zoom, 1), 8);
  const r = cropRect(w, h, { ...c, zoom });
  return { zoom, cx: r.sx + r.side / 2, cy: r.sy + r.side / 2 };
}

function toBlob(canvas: HTMLCanvasElement): Promise<Blob> {
  return new Promise((resolve, reject) =>
    canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('Could not encode the image.'))), 'image/png'),
  );
}

/** Renders the crop as a square PNG, shrinking until it fits `AVATAR_MAX_BYTES`. */
export async function exportAvatar(img: CanvasImageSource & { width: number; height: number }, c: Crop): Promise<Uint8Array> {
  const r = cropRect(img.width, img.height, c);
  for (const size of [512, 384, 256, 160, 96]) {
    const out = Math.min(size, Math.max(32, Math.round(r.side)));
    const canvas = document.createElement('canvas');
    canvas.width = out;
    canvas.height = out;
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('This browser cannot draw images.');
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(img, r.sx, r.sy, r.side, r.side, 0, 0, out, out);
    const blob = await toBlob(canvas);
    if (blob.size <= AVATAR_MAX_BYTES) return new Uint8Array(await blob.arrayBuffer());
  }
  throw new Error('The picture is still over 1 MiB after shrinking; try another one.');
}
