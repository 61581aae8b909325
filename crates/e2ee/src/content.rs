//! What an encrypted message says, inside the MLS ciphertext, identically in Rust and in the
//! browser: versioned JSON with a fresh franking key, whose HMAC over the content bytes travels
//! in clear (but bound by the AEAD) as the message's authenticated data. A reporter can later
//! disclose exactly one message's bytes, and the server can check them against the tag it kept.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::{E2eeError, E2eeResult};

/// The version byte in front of the franking tag in an application message's authenticated data.
pub const FRANKING_VERSION: u8 = 1;

/// A message's content. Edits and reactions are messages of their own, naming the message they
/// change by seq; a receiver applies an edit only from the sender of the message it edits.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "t", rename_all = "snake_case")]
pub enum Content {
    Text {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reply_to: Option<i64>,
    },
    /// New text for message `of`.
    Edit { of: i64, text: String },
    /// A reaction to message `of`, given (`on`) or taken back.
    React { of: i64, emoji: String, on: bool },
}

#[derive(Serialize, Deserialize)]
struct Envelope {
    v: u8,
    /// The franking key, base64url without padding.
    fk: String,
    #[serde(flatten)]
    content: Content,
}

/// Content sealed for sending: its bytes (to encrypt) and its authenticated data (`0x01` and
/// the franking tag).
pub struct Framed {
    pub bytes: Vec<u8>,
    pub authenticated_data: Vec<u8>,
}

fn tag(key: &[u8], bytes: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(bytes);
    mac.finalize().into_bytes().to_vec()
}

/// Frames `content` with a fresh franking key.
pub fn frame(content: Content) -> Framed {
    let key: [u8; 32] = rand::random();
    let envelope = Envelope {
        v: 1,
        fk: URL_SAFE_NO_PAD.encode(key),
        content,
    };
    let bytes = serde_json::to_vec(&envelope).expect("content serializes");
    let mut authenticated_data = vec![FRANKING_VERSION];
    authenticated_data.extend(tag(&key, &bytes));
    Framed {
        bytes,
        authenticated_data,
    }
}

/// Reads content received with `authenticated_data`: refused unless its franking tag matches,
/// so what a reporter discloses is what the sender sent.
pub fn open(bytes: &[u8], authenticated_data: &[u8]) -> E2eeResult<Content> {
    let unreadable = |why: &str| E2eeError::Malformed(format!("content: {why}"));
    let envelope: Envelope =
        serde_json::from_slice(bytes).map_err(|_| unreadable("not Kolokol content"))?;
    if envelope.v != 1 {
        return Err(unreadable("an unknown version"));
    }
    let key = URL_SAFE_NO_PAD
        .decode(&envelope.fk)
        .map_err(|_| unreadable("a bad franking key"))?;
    match authenticated_data {
        [FRANKING_VERSION, sent @ ..] if *sent == *tag(&key, bytes) => Ok(envelope.content),
        _ => Err(unreadable("the franking tag does not match")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_opens_only_with_its_own_tag() {
        let text = Content::Text {
            text: "Собрание в четверг".into(),
            reply_to: Some(17),
        };
        let framed = frame(text.clone());
        assert_eq!(framed.authenticated_data.len(), 33);
        assert_eq!(
            open(&framed.bytes, &framed.authenticated_data).unwrap(),
            text
        );
        let other = frame(text.clone());
        assert!(open(&framed.bytes, &other.authenticated_data).is_err());
        let mut changed = framed.bytes.clone();
        let at = changed.len() - 3;
        changed[at] ^= 1;
        assert!(open(&changed, &framed.authenticated_data).is_err());
        assert!(open(b"{}", &framed.authenticated_data).is_err());
        for content in [
            Content::Edit {
                of: 17,
                text: "Собрание в пятницу".into(),
            },
            Content::React {
                of: 17,
                emoji: "👍".into(),
                on: true,
            },
        ] {
            let framed = frame(content.clone());
            assert_eq!(
                open(&framed.bytes, &framed.authenticated_data).unwrap(),
                content
            );
        }
    }

    /// The vector web/src/lib/mls/member.test.ts reads too: the browser's framing, Rust's.
    #[test]
    fn reads_the_shared_vector() {
        let bytes = r#"{"v":1,"fk":"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8","t":"text","text":"Собрание"}"#;
        let key: Vec<u8> = (0..32).collect();
        let mut authenticated_data = vec![FRANKING_VERSION];
        authenticated_data.extend(tag(&key, bytes.as_bytes()));
        assert_eq!(
            open(bytes.as_bytes(), &authenticated_data).unwrap(),
            Content::Text {
                text: "Собрание".into(),
                reply_to: None
            }
        );
    }
}
