//! Images are decoded and encoded again, so nothing of the original file but its pixels
//! survives: no EXIF, GPS, XMP, IPTC or text chunks. Decoding is bounded, so a decompression
//! bomb is refused before it allocates.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use kolokol_domain::media::Format;

/// How far decoding may go.
#[derive(Debug, Clone, Copy)]
pub struct ImageLimits {
    /// Longest side, in pixels.
    pub max_side: u32,
    /// Width × height.
    pub max_pixels: u64,
}

impl Default for ImageLimits {
    fn default() -> Self {
        ImageLimits {
            max_side: 12_000,
            max_pixels: 50_000_000,
        }
    }
}

/// The longest side of a thumbnail.
pub const THUMB_SIDE: u32 = 320;

/// An image as it is kept: re-encoded, with its thumbnail.
pub struct Processed {
    pub bytes: Vec<u8>,
    pub mime: &'static str,
    pub width: u32,
    pub height: u32,
    /// Encoded as the image is.
    pub thumb: Vec<u8>,
}

#[derive(Debug, thiserror::Error)]
pub enum ImageError {
    #[error("the image is too large: {width}×{height} pixels")]
    TooLarge { width: u32, height: u32 },
    #[error("not a readable image")]
    Unreadable,
}

/// Decodes `bytes` (of the sniffed `format`) within `limits`, applies the EXIF orientation, and
/// encodes it again: JPEG, or PNG where there is transparency. CPU-bound: run it on the blocking
/// pool.
pub fn reencode(
    bytes: &[u8],
    format: Format,
    limits: ImageLimits,
) -> Result<Processed, ImageError> {
    let format = match format {
        Format::Jpeg => ImageFormat::Jpeg,
        Format::Png => ImageFormat::Png,
        Format::Gif => ImageFormat::Gif,
        Format::Webp => ImageFormat::WebP,
        _ => return Err(ImageError::Unreadable),
    };
    let mut reader = ImageReader::new(Cursor::new(bytes));
    reader.set_format(format);
    let mut bounds = Limits::default();
    bounds.max_image_width = Some(limits.max_side);
    bounds.max_image_height = Some(limits.max_side);
    // Room for the decoded pixels at 8 bytes each, and no more.
    bounds.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    reader.limits(bounds);
    let mut decoder = reader.into_decoder().map_err(|error| refusal(&error))?;
    let (width, height) = decoder.dimensions();
    if width > limits.max_side
        || height > limits.max_side
        || u64::from(width) * u64::from(height) > limits.max_pixels
    {
        return Err(ImageError::TooLarge { width, height });
    }
    let orientation = decoder.orientation().map_err(|error| refusal(&error))?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(|error| refusal(&error))?;
    image.apply_orientation(orientation);
    let (bytes, mime) = encode(&image, 85)?;
    let (thumb, _) = encode(&image.thumbnail(THUMB_SIDE, THUMB_SIDE), 75)?;
    Ok(Processed {
        bytes,
        mime,
        width: image.width(),
        height: image.height(),
        thumb,
    })
}

fn refusal(error: &image::ImageError) -> ImageError {
    match error {
        image::ImageError::Limits(_) => ImageError::TooLarge {
            width: 0,
            height: 0,
        },
        _ => ImageError::Unreadable,
    }
}

fn encode(image: &DynamicImage, quality: u8) -> Result<(Vec<u8>, &'static str), ImageError> {
    let mut out = Cursor::new(Vec::new());
    if image.color().has_alpha() {
        image
            .to_rgba8()
            .write_to(&mut out, ImageFormat::Png)
            .map_err(|_| ImageError::Unreadable)?;
        return Ok((out.into_inner(), "image/png"));
    }
    image
        .to_rgb8()
        .write_with_encoder(JpegEncoder::new_with_quality(&mut out, quality))
        .map_err(|_| ImageError::Unreadable)?;
    Ok((out.into_inner(), "image/jpeg"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;

    #[test]
    fn a_photo_loses_its_exif_and_gps_and_keeps_its_orientation() {
        let original = fixtures::jpeg_with_gps();
        assert!(fixtures::contains(&original, fixtures::SECRET_PLACE));
        let kept = reencode(&original, Format::Jpeg, ImageLimits::default()).unwrap();
        assert!(!fixtures::contains(&kept.bytes, b"Exif\0\0"));
        assert!(!fixtures::contains(&kept.bytes, fixtures::SECRET_PLACE));
        assert!(!fixtures::contains(&kept.bytes, &fixtures::GPS_LATITUDE));
        // The segment after SOI is not APP1 (EXIF's home).
        assert_ne!(&kept.bytes[2..4], b"\xFF\xE1");
        // Orientation 6 (rotate 90°) was applied to the 64×48 picture.
        assert_eq!((kept.width, kept.height), (48, 64));
        let decoded = image::load_from_memory(&kept.bytes).unwrap();
        assert_eq!((decoded.width(), decoded.height()), (48, 64));
        let thumb = image::load_from_memory(&kept.thumb).unwrap();
        assert!(thumb.width() <= THUMB_SIDE && thumb.height() <= THUMB_SIDE);
    }

    #[test]
    fn a_png_loses_its_text_chunks() {
        let original = fixtures::png_with_text();
        assert!(fixtures::contains(&original, b"KOLOKOL-SECRET"));
        let kept = reencode(&original, Format::Png, ImageLimits::default()).unwrap();
        assert!(!fixtures::contains(&kept.bytes, b"KOLOKOL-SECRET"));
        assert!(!fixtures::contains(&kept.bytes, b"eXIf"));
    }

    #[test]
    fn a_decompression_bomb_and_garbage_are_refused() {
        let bomb = fixtures::png_bomb();
        assert!(matches!(
            reencode(&bomb, Format::Png, ImageLimits::default()),
            Err(ImageError::TooLarge { .. })
        ));
        assert!(matches!(
            reencode(
                b"\xFF\xD8\xFF\xE0 not really",
                Format::Jpeg,
                ImageLimits::default()
            ),
            Err(ImageError::Unreadable)
        ));
        let small = ImageLimits {
            max_side: 12_000,
            max_pixels: 100,
        };
        assert!(matches!(
            reencode(&fixtures::jpeg_with_gps(), Format::Jpeg, small),
            Err(ImageError::TooLarge {
                width: 64,
                height: 48
            })
        ));
    }
}
