//! Files for tests, made here so that no test downloads anything: a photo carrying EXIF with a
//! GPS position and a rotation, a PNG carrying text, and a decompression bomb.

use std::io::Cursor;

use image::codecs::jpeg::JpegEncoder;
use image::{ImageFormat, RgbImage};

/// The image description the photo's EXIF carries.
pub const SECRET_PLACE: &[u8] = b"KOLOKOL-SECRET-PLACE";
/// The photo's GPS latitude, 55/1 45/1 as little-endian rationals.
pub const GPS_LATITUDE: [u8; 16] = [55, 0, 0, 0, 1, 0, 0, 0, 45, 0, 0, 0, 1, 0, 0, 0];

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// A 64×48 JPEG with an APP1 EXIF segment: an image description, orientation 6 (rotate 90°)
/// and a GPS position in Moscow.
pub fn jpeg_with_gps() -> Vec<u8> {
    let picture = RgbImage::from_fn(64, 48, |x, y| image::Rgb([x as u8 * 4, y as u8 * 5, 128]));
    let mut jpeg = Cursor::new(Vec::new());
    picture
        .write_with_encoder(JpegEncoder::new_with_quality(&mut jpeg, 90))
        .expect("a JPEG encodes");
    let jpeg = jpeg.into_inner();

    let mut tiff = Vec::new();
    tiff.extend_from_slice(b"II*\0");
    tiff.extend_from_slice(&8u32.to_le_bytes());
    let entry = |tiff: &mut Vec<u8>, tag: u16, kind: u16, count: u32, value: u32| {
        tiff.extend_from_slice(&tag.to_le_bytes());
        tiff.extend_from_slice(&kind.to_le_bytes());
        tiff.extend_from_slice(&count.to_le_bytes());
        tiff.extend_from_slice(&value.to_le_bytes());
    };
    const ASCII: u16 = 2;
    const SHORT: u16 = 3;
    const LONG: u16 = 4;
    const RATIONAL: u16 = 5;
    // IFD0 at 8: 3 entries (2 + 36 bytes) and the next-IFD link, then the description at 50.
    tiff.extend_from_slice(&3u16.to_le_bytes());
    entry(&mut tiff, 0x010E, ASCII, SECRET_PLACE.len() as u32 + 1, 50);
    entry(&mut tiff, 0x0112, SHORT, 1, 6);
    entry(&mut tiff, 0x8825, LONG, 1, 72);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    tiff.extend_from_slice(SECRET_PLACE);
    tiff.push(0);
    tiff.resize(72, 0);
    // The GPS IFD at 72: 4 entries, then the two positions at 126 and 150.
    tiff.extend_from_slice(&4u16.to_le_bytes());
    entry(&mut tiff, 0x0001, ASCII, 2, u32::from(b'N'));
    entry(&mut tiff, 0x0002, RATIONAL, 3, 126);
    entry(&mut tiff, 0x0003, ASCII, 2, u32::from(b'E'));
    entry(&mut tiff, 0x0004, RATIONAL, 3, 150);
    tiff.extend_from_slice(&0u32.to_le_bytes());
    for (numerator, denominator) in [
        (55u32, 1u32),
        (45, 1),
        (2069, 100),
        (37, 1),
        (37, 1),
        (1020, 100),
    ] {
        tiff.extend_from_slice(&numerator.to_le_bytes());
        tiff.extend_from_slice(&denominator.to_le_bytes());
    }

    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend_from_slice(b"\xFF\xE1");
    out.extend_from_slice(&(app1.len() as u16 + 2).to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// A 16×16 PNG with a `tEXt` comment and an `eXIf` chunk before its pixels.
pub fn png_with_text() -> Vec<u8> {
    let picture = RgbImage::from_pixel(16, 16, image::Rgb([10, 200, 30]));
    let mut png = Cursor::new(Vec::new());
    picture
        .write_to(&mut png, ImageFormat::Png)
        .expect("a PNG encodes");
    let png = png.into_inner();
    // Signature (8) and IHDR (25) come first; the new chunks go right after them.
    let mut out = png[..33].to_vec();
    out.extend_from_slice(&png_chunk(b"tEXt", b"Comment\0KOLOKOL-SECRET"));
    out.extend_from_slice(&png_chunk(b"eXIf", b"MM\0*\0\0\0\x08\0\0"));
    out.extend_from_slice(&png[33..]);
    out
}

/// A valid 1×1 PNG whose header claims 100 000 × 100 000 pixels.
pub fn png_bomb() -> Vec<u8> {
    let picture = RgbImage::from_pixel(1, 1, image::Rgb([0, 0, 0]));
    let mut png = Cursor::new(Vec::new());
    picture
        .write_to(&mut png, ImageFormat::Png)
        .expect("a PNG encodes");
    let png = png.into_inner();
    let mut header = png[16..29].to_vec();
    header[..4].copy_from_slice(&100_000u32.to_be_bytes());
    header[4..8].copy_from_slice(&100_000u32.to_be_bytes());
    let mut out = png[..8].to_vec();
    out.extend_from_slice(&png_chunk(b"IHDR", &header));
    out.extend_from_slice(&png[33..]);
    out
}

fn png_chunk(kind: &[u8; 4], data: &[u8]) -> Vec<u8> {
    let mut chunk = (data.len() as u32).to_be_bytes().to_vec();
    chunk.extend_from_slice(kind);
    chunk.extend_from_slice(data);
    let crc = crc32(&chunk[4..]);
    chunk.extend_from_slice(&crc.to_be_bytes());
    chunk
}

/// CRC-32 (IEEE), as PNG chunks carry it.
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}
