//! Signed, expiring links to media (so `<img>` and `<audio>` load without a session token) and
//! the opaque attachment tokens of the Max bot API, each bound to one bot.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Signature bytes kept: 128 bits.
const TAG_LEN: usize = 16;

/// Which file of a blob a link serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Original,
    Thumbnail,
}

impl Variant {
    pub fn as_str(self) -> &'static str {
        match self {
            Variant::Original => "o",
            Variant::Thumbnail => "t",
        }
    }

    pub fn parse(text: &str) -> Option<Variant> {
        match text {
            "o" => Some(Variant::Original),
            "t" => Some(Variant::Thumbnail),
            _ => None,
        }
    }
}

/// What a bot's attachment token names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOf {
    /// An upload (the token `/uploads` gives for video and audio before the bytes arrive).
    Upload(i64),
    /// A stored file.
    Blob(i64),
}

/// Signs with the server's media key (made once, shared by every node through the database).
#[derive(Clone)]
pub struct Signer {
    key: [u8; 32],
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Signer(..)")
    }
}

impl Signer {
    pub fn new(key: [u8; 32]) -> Signer {
        Signer { key }
    }

    fn mac(&self, parts: &[&[u8]]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.key).expect("HMAC takes any key");
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac
    }

    fn link_mac(&self, blob: i64, variant: Variant, expires_s: i64) -> HmacSha256 {
        self.mac(&[
            b"media-link",
            &blob.to_be_bytes(),
            variant.as_str().as_bytes(),
            &expires_s.to_be_bytes(),
        ])
    }

    /// The query of a link to `blob` that works until `expires_s` (Unix seconds).
    pub fn link_query(&self, blob: i64, variant: Variant, expires_s: i64) -> String {
        let tag = self
            .link_mac(blob, variant, expires_s)
            .finalize()
            .into_bytes();
        let signature = URL_SAFE_NO_PAD.encode(&tag[..TAG_LEN]);
        format!("v={}&e={expires_s}&s={signature}", variant.as_str())
    }

    /// Whether a link's signature is ours and it has not expired at `now_s`.
    pub fn check_link(
        &self,
        blob: i64,
        variant: Variant,
        expires_s: i64,
        signature: &str,
        now_s: i64,
    ) -> bool {
        let Ok(tag) = URL_SAFE_NO_PAD.decode(signature) else {
            return false;
        };
        now_s <= expires_s
            && self
                .link_mac(blob, variant, expires_s)
                .verify_truncated_left(&tag)
                .is_ok()
            && tag.len() == TAG_LEN
    }

    fn token_mac(&self, bot: i64, kind: u8, id: i64) -> HmacSha256 {
        self.mac(&[b"max-token", &bot.to_be_bytes(), &[kind], &id.to_be_bytes()])
    }

    /// A Max attachment token for `bot`: 34 characters of `[A-Za-z0-9_-]`; useless to any
    /// other bot.
    pub fn max_token(&self, bot: i64, of: TokenOf) -> String {
        let (kind, id) = match of {
            TokenOf::Upload(id) => (b'u', id),
            TokenOf::Blob(id) => (b'b', id),
        };
        let tag = self.token_mac(bot, kind, id).finalize().into_bytes();
        let mut raw = vec![kind];
        raw.extend_from_slice(&id.to_be_bytes());
        raw.extend_from_slice(&tag[..TAG_LEN]);
        URL_SAFE_NO_PAD.encode(raw)
    }

    /// What a token names, if it was made for `bot`.
    pub fn parse_max_token(&self, bot: i64, token: &str) -> Option<TokenOf> {
        let raw = URL_SAFE_NO_PAD.decode(token).ok()?;
        let [kind, rest @ ..] = raw.as_slice() else {
            return None;
        };
        if rest.len() != 8 + TAG_LEN {
            return None;
        }
        let id = i64::from_be_bytes(rest[..8].try_into().ok()?);
        self.token_mac(bot, *kind, id)
            .verify_truncated_left(&rest[8..])
            .ok()?;
        match kind {
            b'u' => Some(TokenOf::Upload(id)),
            b'b' => Some(TokenOf::Blob(id)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signer() -> Signer {
        Signer::new([7; 32])
    }

    fn query_value<'a>(query: &'a str, key: &str) -> &'a str {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(key)?.strip_prefix('='))
            .unwrap()
    }

    #[test]
    fn links_work_until_they_expire_and_only_as_signed() {
        let query = signer().link_query(42, Variant::Original, 1_000);
        let signature = query_value(&query, "s");
        assert!(query.starts_with("v=o&e=1000&s="));
        assert!(signer().check_link(42, Variant::Original, 1_000, signature, 999));
        assert!(signer().check_link(42, Variant::Original, 1_000, signature, 1_000));
        assert!(!signer().check_link(42, Variant::Original, 1_000, signature, 1_001));
        assert!(!signer().check_link(43, Variant::Original, 1_000, signature, 0));
        assert!(!signer().check_link(42, Variant::Thumbnail, 1_000, signature, 0));
        assert!(!signer().check_link(42, Variant::Original, 2_000, signature, 0));
        assert!(!signer().check_link(42, Variant::Original, 1_000, &signature[..10], 0));
        assert!(!signer().check_link(42, Variant::Original, 1_000, "", 0));
        let other = Signer::new([8; 32]);
        assert!(!other.check_link(42, Variant::Original, 1_000, signature, 0));
    }

    #[test]
    fn tokens_name_what_they_were_made_for_and_only_for_their_bot() {
        let token = signer().max_token(5, TokenOf::Blob(17));
        assert_eq!(token.len(), 34);
        assert!(
            token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_eq!(signer().parse_max_token(5, &token), Some(TokenOf::Blob(17)));
        assert_eq!(signer().parse_max_token(6, &token), None);
        let upload = signer().max_token(5, TokenOf::Upload(17));
        assert_ne!(upload, token);
        assert_eq!(
            signer().parse_max_token(5, &upload),
            Some(TokenOf::Upload(17))
        );
        let mut forged = token.clone().into_bytes();
        forged[5] = if forged[5] == b'A' { b'B' } else { b'A' };
        let forged = String::from_utf8(forged).unwrap();
        assert_eq!(signer().parse_max_token(5, &forged), None);
        for junk in ["", "abc", "!!!!", &token[..20]] {
            assert_eq!(signer().parse_max_token(5, junk), None);
        }
    }
}
