//! What an uploaded file is, decided from its bytes and never from what the client claims, and
//! the small parsers uploads need (`Content-Range`, file names).

pub use kolokol_proto::AttachmentKind as Kind;
use kolokol_proto::ErrorCode;

use crate::{Rejection, reject};

/// How many leading bytes [`sniff`] reads.
pub const SNIFF_LEN: usize = 64;

/// A file's format as its magic bytes tell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Jpeg,
    Png,
    Gif,
    Webp,
    /// HEIC/AVIF: recognised, not decodable here, so only ever a file.
    Heif,
    M4a,
    Mov,
    Mp4,
    Webm,
    Mkv,
    Ogg,
    Mp3,
    Wav,
    Flac,
    /// Anything else (PDF, office documents, archives…): only ever a file.
    Other,
}

/// The format of a file from its first bytes (at least [`SNIFF_LEN`] of them when the file is
/// that long).
pub fn sniff(head: &[u8]) -> Format {
    let at = |offset: usize, magic: &[u8]| head.get(offset..offset + magic.len()) == Some(magic);
    if at(0, b"\xFF\xD8\xFF") {
        Format::Jpeg
    } else if at(0, b"\x89PNG\r\n\x1A\n") {
        Format::Png
    } else if at(0, b"GIF87a") || at(0, b"GIF89a") {
        Format::Gif
    } else if at(0, b"RIFF") && at(8, b"WEBP") {
        Format::Webp
    } else if at(0, b"RIFF") && at(8, b"WAVE") {
        Format::Wav
    } else if at(4, b"ftyp") {
        match head.get(8..12).unwrap_or_default() {
            b"heic" | b"heix" | b"heim" | b"heis" | b"mif1" | b"msf1" | b"avif" | b"avis" => {
                Format::Heif
            }
            b"M4A " | b"M4B " => Format::M4a,
            b"qt  " => Format::Mov,
            _ => Format::Mp4,
        }
    } else if at(0, b"\x1A\x45\xDF\xA3") {
        // The EBML header names its DocType within the first few dozen bytes.
        if contains(head, b"webm") {
            Format::Webm
        } else if contains(head, b"matroska") {
            Format::Mkv
        } else {
            Format::Other
        }
    } else if at(0, b"OggS") && (at(28, b"OpusHead") || at(28, b"\x01vorbis")) {
        Format::Ogg
    } else if at(0, b"ID3") || is_mpeg_audio_frame(head) {
        Format::Mp3
    } else if at(0, b"fLaC") {
        Format::Flac
    } else {
        Format::Other
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

/// An MPEG audio frame header: 11 sync bits, a known version and layer, a valid bitrate and
/// sample rate (so a random `FF Fx` pair is not taken for audio).
fn is_mpeg_audio_frame(head: &[u8]) -> bool {
    let [0xFF, second, third, ..] = *head else {
        return false;
    };
    let synced = second & 0xE0 == 0xE0;
    let version_known = (second >> 3) & 0b11 != 0b01;
    let layer_known = (second >> 1) & 0b11 != 0;
    let bitrate_valid = third >> 4 != 0b1111;
    let rate_valid = (third >> 2) & 0b11 != 0b11;
    synced && version_known && layer_known && bitrate_valid && rate_valid
}

impl Format {
    /// Still images Kolokol decodes and re-encodes (which strips EXIF and GPS).
    pub fn is_decodable_image(self) -> bool {
        matches!(
            self,
            Format::Jpeg | Format::Png | Format::Gif | Format::Webp
        )
    }

    /// Whether a file of this format may be shown as `kind`: a PDF is never an image, a photo
    /// never a voice message. Anything may be a file.
    pub fn allows(self, kind: Kind) -> bool {
        use Format::*;
        match kind {
            Kind::File => true,
            Kind::Image => self.is_decodable_image(),
            Kind::Video => matches!(self, Mp4 | Mov | Webm | Mkv),
            Kind::Audio | Kind::Voice => matches!(self, M4a | Mp4 | Webm | Ogg | Mp3 | Wav | Flac),
        }
    }

    /// The type the file is served with when shown as `kind` (re-encoded images have their own).
    pub fn mime(self, kind: Kind) -> &'static str {
        use Format::*;
        let audio = matches!(kind, Kind::Audio | Kind::Voice);
        match self {
            _ if kind == Kind::File => "application/octet-stream",
            Jpeg => "image/jpeg",
            Png => "image/png",
            Gif => "image/gif",
            Webp => "image/webp",
            M4a => "audio/mp4",
            Mp4 if audio => "audio/mp4",
            Mp4 => "video/mp4",
            Mov => "video/quicktime",
            Webm if audio => "audio/webm",
            Webm => "video/webm",
            Mkv => "video/x-matroska",
            Ogg => "audio/ogg",
            Mp3 => "audio/mpeg",
            Wav => "audio/wav",
            Flac => "audio/flac",
            Heif | Other => "application/octet-stream",
        }
    }
}

/// Refuses a file whose bytes do not fit the kind it is sent as.
pub fn check_kind(format: Format, kind: Kind) -> Result<(), Rejection> {
    if format.allows(kind) {
        Ok(())
    } else {
        reject(
            ErrorCode::InvalidMedia,
            format!("the file's contents are not {}", kind.as_str()),
        )
    }
}

/// The longest retention an org may set, in days (ten years).
pub const MAX_RETENTION_DAYS: u32 = 3650;

/// An org's room for files (MiB) and how long it keeps them (days): each at least 1.
pub fn check_policy(quota_mb: Option<u64>, retention_days: Option<u32>) -> Result<(), Rejection> {
    if quota_mb == Some(0) {
        return reject(
            ErrorCode::InvalidPolicy,
            "the room for files is at least 1 MiB",
        );
    }
    if retention_days.is_some_and(|days| !(1..=MAX_RETENTION_DAYS).contains(&days)) {
        return reject(
            ErrorCode::InvalidPolicy,
            format!("files are kept for 1 to {MAX_RETENTION_DAYS} days"),
        );
    }
    Ok(())
}

/// One request's part of a resumable upload: bytes `first..=last` of a file of `total` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ContentRange {
    pub first: u64,
    pub last: u64,
    pub total: u64,
}

impl ContentRange {
    pub fn length(&self) -> u64 {
        self.last - self.first + 1
    }
}

/// Parses `Content-Range: bytes first-last/total`; a range that is backwards or runs past the
/// total is refused.
pub fn parse_content_range(header: &str) -> Result<ContentRange, Rejection> {
    let bad = || {
        Rejection::new(
            ErrorCode::BadRequest,
            "Content-Range is bytes first-last/total",
        )
    };
    let spec = header.trim().strip_prefix("bytes ").ok_or_else(bad)?;
    let (range, total) = spec.split_once('/').ok_or_else(bad)?;
    let (first, last) = range.split_once('-').ok_or_else(bad)?;
    let number = |text: &str| -> Result<u64, Rejection> {
        if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad());
        }
        text.parse().map_err(|_| bad())
    };
    let (first, last, total) = (number(first)?, number(last)?, number(total)?);
    if first > last || last >= total {
        return Err(bad());
    }
    Ok(ContentRange { first, last, total })
}

/// The longest file name kept, in bytes.
pub const MAX_FILE_NAME: usize = 255;

/// A file name as it may be shown and offered for download: the last path segment, without
/// control or bidirectional-override characters, at most 255 bytes; `None` when nothing is left.
pub fn clean_file_name(name: &str) -> Option<String> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    let mut cleaned = String::new();
    for c in base.chars() {
        let unsafe_char =
            c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}');
        if unsafe_char {
            continue;
        }
        if cleaned.len() + c.len_utf8() > MAX_FILE_NAME {
            break;
        }
        cleaned.push(c);
    }
    let cleaned = cleaned.trim();
    (!cleaned.is_empty() && cleaned != "." && cleaned != "..").then(|| cleaned.to_owned())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn padded(head: &[u8]) -> Vec<u8> {
        let mut bytes = head.to_vec();
        bytes.resize(SNIFF_LEN, 0);
        bytes
    }

    #[test]
    fn sniffs_each_format_from_its_magic_bytes() {
        let mut ogg = padded(b"OggS");
        ogg[28..36].copy_from_slice(b"OpusHead");
        let cases: [(&[u8], Format); 16] = [
            (b"\xFF\xD8\xFF\xE0\0\x10JFIF", Format::Jpeg),
            (b"\x89PNG\r\n\x1A\n\0\0\0\rIHDR", Format::Png),
            (b"GIF89a\x01\0", Format::Gif),
            (b"RIFF\0\0\0\0WEBPVP8 ", Format::Webp),
            (b"RIFF\0\0\0\0WAVEfmt ", Format::Wav),
            (b"\0\0\0\x18ftypheic\0\0\0\0", Format::Heif),
            (b"\0\0\0\x18ftypM4A \0\0\0\0", Format::M4a),
            (b"\0\0\0\x14ftypqt  \0\0\0\0", Format::Mov),
            (b"\0\0\0\x18ftypisom\0\0\x02\0isomiso2", Format::Mp4),
            (
                b"\x1A\x45\xDF\xA3\x9F\x42\x86\x81\x01\x42\x82\x84webm",
                Format::Webm,
            ),
            (b"\x1A\x45\xDF\xA3\x93\x42\x82\x88matroska", Format::Mkv),
            (&ogg, Format::Ogg),
            (b"ID3\x04\0\0\0\0\0\0", Format::Mp3),
            (b"\xFF\xFB\x90\x64", Format::Mp3),
            (b"fLaC\0\0\0\x22", Format::Flac),
            (b"%PDF-1.4\n", Format::Other),
        ];
        for (head, format) in cases {
            assert_eq!(sniff(&padded(head)), format, "{head:?}");
        }
        // A bare sync-like pair with an invalid bitrate is not audio; an Ogg without a known
        // codec is a file; so is nothing at all.
        assert_eq!(sniff(b"\xFF\xFB\xF0\x00"), Format::Other);
        assert_eq!(sniff(&padded(b"OggS")), Format::Other);
        assert_eq!(sniff(b""), Format::Other);
    }

    #[test]
    fn a_format_allows_only_the_kinds_it_can_be() {
        assert!(check_kind(Format::Jpeg, Kind::Image).is_ok());
        assert!(check_kind(Format::Jpeg, Kind::File).is_ok());
        assert!(check_kind(Format::Other, Kind::File).is_ok());
        for kind in [Kind::Image, Kind::Video, Kind::Audio, Kind::Voice] {
            let refused = check_kind(Format::Other, kind).unwrap_err();
            assert_eq!(refused.code, ErrorCode::InvalidMedia);
        }
        assert!(check_kind(Format::Heif, Kind::Image).is_err());
        assert!(check_kind(Format::Jpeg, Kind::Voice).is_err());
        assert!(check_kind(Format::Webm, Kind::Voice).is_ok());
        assert!(check_kind(Format::Mp3, Kind::Video).is_err());
        assert_eq!(Format::Webm.mime(Kind::Voice), "audio/webm");
        assert_eq!(Format::Mp4.mime(Kind::Video), "video/mp4");
        assert_eq!(Format::Jpeg.mime(Kind::File), "application/octet-stream");
    }

    #[test]
    fn org_file_rules_have_bounds() {
        assert!(check_policy(None, None).is_ok());
        assert!(check_policy(Some(1), Some(1)).is_ok());
        assert!(check_policy(Some(u64::MAX), Some(MAX_RETENTION_DAYS)).is_ok());
        for (quota, days) in [
            (Some(0), None),
            (None, Some(0)),
            (None, Some(MAX_RETENTION_DAYS + 1)),
        ] {
            let refused = check_policy(quota, days).unwrap_err();
            assert_eq!(refused.code, ErrorCode::InvalidPolicy);
        }
    }

    #[test]
    fn parses_content_ranges() {
        assert_eq!(
            parse_content_range("bytes 0-65535/204832").unwrap(),
            ContentRange {
                first: 0,
                last: 65535,
                total: 204832
            }
        );
        assert_eq!(parse_content_range("bytes 5-5/6").unwrap().length(), 1);
        for bad in [
            "",
            "bytes */100",
            "bytes 5-4/10",
            "bytes 0-10/10",
            "bytes 0-9/*",
            "items 0-9/10",
            "bytes -1-9/10",
            "bytes +0-9/10",
            "bytes 0-99999999999999999999999/1",
        ] {
            assert!(parse_content_range(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn cleans_file_names() {
        assert_eq!(
            clean_file_name("C:\\Users\\anna\\Домашка 5Б.pdf").as_deref(),
            Some("Домашка 5Б.pdf")
        );
        assert_eq!(
            clean_file_name("../../etc/passwd").as_deref(),
            Some("passwd")
        );
        assert_eq!(
            clean_file_name("invoice\u{202E}fdp.exe").as_deref(),
            Some("invoicefdp.exe")
        );
        assert_eq!(clean_file_name("a\nb\0c").as_deref(), Some("abc"));
        assert_eq!(clean_file_name("dir/"), None);
        assert_eq!(clean_file_name(".."), None);
        let long = "я".repeat(200);
        assert_eq!(clean_file_name(&long).unwrap().len(), 254);
    }

    proptest! {
        #[test]
        fn sniffing_and_range_parsing_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..80), header in "\\PC{0,40}") {
            let _ = sniff(&bytes);
            if let Ok(range) = parse_content_range(&header) {
                prop_assert!(range.first <= range.last && range.last < range.total);
            }
            if let Some(name) = clean_file_name(&header) {
                prop_assert!(!name.contains('/') && name.len() <= MAX_FILE_NAME);
            }
        }
    }
}
