//! Images, made safe before they are kept or shown: whatever bytes come in (a file the user
//! picked, a blob a peer sent), only a raster image of a known format that decodes within the
//! limits passes, and it is decoded and encoded again — as PNG when it has transparency, else
//! as JPEG — at most `max_side` pixels on its longest side. What leaves is pixels only: no
//! metadata (EXIF, GPS), no script (an SVG is not an image here), no trailing bytes, no second
//! file hidden in the first.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader, Limits};

/// The longest side of an image as the UI is given it.
pub const SHOWN_SIDE: u32 = 2048;
/// The most bytes of image taken in.
pub const MAX_IMAGE_BYTES: usize = 8 << 20;
/// The largest width or height decoded: a decompression bomb stops here, before its pixels.
const MAX_DIMENSION: u32 = 8192;
/// The most memory a decode may take.
const MAX_DECODE_ALLOC: u64 = 256 << 20;
/// JPEG quality of what is encoded again.
const JPEG_QUALITY: u8 = 85;

/// Why bytes are not an image Rookery takes.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ImageError {
    /// More bytes than [`MAX_IMAGE_BYTES`].
    #[error("the image is over the limit of {} MiB", MAX_IMAGE_BYTES >> 20)]
    TooLarge,
    /// Not PNG, JPEG, GIF or WebP (an SVG, a text, anything else).
    #[error("that is not a PNG, JPEG, GIF or WebP image")]
    NotAnImage,
    /// Larger than [`MAX_DIMENSION`] on a side, or needing more memory than a decode may use
    /// (a decompression bomb).
    #[error("the image is too large to open (at most {MAX_DIMENSION} pixels a side)")]
    TooManyPixels,
    /// It says it is an image but does not decode as one.
    #[error("the image is damaged or not what it says it is")]
    Damaged(#[source] image::ImageError),
}

/// An image made safe: its bytes and their media type.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// The encoded bytes.
    pub bytes: Vec<u8>,
    /// `image/png` or `image/jpeg`.
    pub mime: &'static str,
    /// Its width in pixels.
    pub width: u32,
    /// Its height in pixels.
    pub height: u32,
}

/// Decodes `bytes` (PNG, JPEG, GIF or WebP, within the limits), scales it down to at most
/// `max_side` pixels on its longest side, and encodes it again.
pub fn normalize(bytes: &[u8], max_side: u32) -> Result<Image, ImageError> {
    let img = decode(bytes)?;
    let img = if img.width().max(img.height()) > max_side {
        img.resize(max_side, max_side, image::imageops::FilterType::Triangle)
    } else {
        img
    };
    encode(&img)
}

/// Decodes an image of an allowed format within the limits.
fn decode(bytes: &[u8]) -> Result<DynamicImage, ImageError> {
    if bytes.len() > MAX_IMAGE_BYTES {
        return Err(ImageError::TooLarge);
    }
    let format = image::guess_format(bytes).map_err(|_| ImageError::NotAnImage)?;
    if !matches!(
        format,
        ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::Gif | ImageFormat::WebP
    ) {
        return Err(ImageError::NotAnImage);
    }
    let reader = || {
        let mut r = ImageReader::with_format(Cursor::new(bytes), format);
        let mut limits = Limits::default();
        limits.max_image_width = Some(MAX_DIMENSION);
        limits.max_image_height = Some(MAX_DIMENSION);
        limits.max_alloc = Some(MAX_DECODE_ALLOC);
        r.limits(limits);
        r
    };
    // The header first: its size decides whether the pixels are decoded at all.
    let (width, height) = match reader().into_dimensions() {
        Ok(d) => d,
        Err(image::ImageError::Limits(_)) => return Err(ImageError::TooManyPixels),
        Err(e) => return Err(ImageError::Damaged(e)),
    };
    if width > MAX_DIMENSION || height > MAX_DIMENSION || width == 0 || height == 0 {
        return Err(ImageError::TooManyPixels);
    }
    reader().decode().map_err(|e| match e {
        image::ImageError::Limits(_) => ImageError::TooManyPixels,
        e => ImageError::Damaged(e),
    })
}

/// Encodes pixels: PNG when any pixel is not opaque, else JPEG.
fn encode(img: &DynamicImage) -> Result<Image, ImageError> {
    let transparent = img.color().has_alpha() && img.to_rgba8().pixels().any(|p| p.0[3] < 255);
    let mut out = Cursor::new(Vec::new());
    let mime = if transparent {
        img.to_rgba8()
            .write_to(&mut out, ImageFormat::Png)
            .map_err(ImageError::Damaged)?;
        "image/png"
    } else {
        let rgb = img.to_rgb8();
        let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY);
        rgb.write_with_encoder(enc).map_err(ImageError::Damaged)?;
        "image/jpeg"
    };
    Ok(Image {
        bytes: out.into_inner(),
        mime,
        width: img.width(),
        height: img.height(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    fn png(w: u32, h: u32) -> Vec<u8> {
        let img = RgbaImage::from_pixel(w, h, Rgba([10, 200, 30, 128]));
        let mut out = Cursor::new(Vec::new());
        img.write_to(&mut out, ImageFormat::Png).unwrap();
        out.into_inner()
    }

    #[test]
    fn images_come_out_scaled_and_encoded_again() {
        let out = normalize(&png(1200, 300), 512).unwrap();
        assert_eq!((out.width, out.height, out.mime), (512, 128, "image/png"));
        assert!(out.bytes.starts_with(b"\x89PNG"));
        let opaque = RgbImage::from_pixel(40, 30, Rgb([1, 2, 3]));
        let mut jpg = Cursor::new(Vec::new());
        opaque.write_to(&mut jpg, ImageFormat::Png).unwrap();
        let out = normalize(&jpg.into_inner(), 512).unwrap();
        assert_eq!((out.width, out.height, out.mime), (40, 30, "image/jpeg"));
    }

    #[test]
    fn what_is_not_an_image_is_refused() {
        let svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>";
        assert!(matches!(normalize(svg, 512), Err(ImageError::NotAnImage)));
        assert!(matches!(
            normalize(b"hello", 512),
            Err(ImageError::NotAnImage)
        ));
        // A PNG signature and then nothing: it lies about what it is.
        let liar = [b"\x89PNG\r\n\x1a\n".as_slice(), &[7; 64]].concat();
        assert!(matches!(normalize(&liar, 512), Err(ImageError::Damaged(_))));
        // Truncated.
        let p = png(50, 50);
        assert!(normalize(&p[..p.len() / 2], 512).is_err());
        assert!(matches!(
            normalize(&vec![0; MAX_IMAGE_BYTES + 1], 512),
            Err(ImageError::TooLarge)
        ));
    }

    #[test]
    fn a_decompression_bomb_stops_at_its_header() {
        // A small file that claims 60,000 × 60,000 pixels.
        let mut bomb = png(1, 1);
        // The IHDR chunk's width and height follow the signature and the chunk's length and
        // type (16 bytes in); change them, and the chunk's CRC with them.
        bomb[16..20].copy_from_slice(&60_000u32.to_be_bytes());
        bomb[20..24].copy_from_slice(&60_000u32.to_be_bytes());
        let crc = crc32fast::hash(&bomb[12..29]);
        bomb[29..33].copy_from_slice(&crc.to_be_bytes());
        let r = normalize(&bomb, 512);
        assert!(matches!(r, Err(ImageError::TooManyPixels)), "{r:?}");
    }
}
