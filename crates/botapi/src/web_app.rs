//! Mini-apps' `initData`: what a bot's web app is told about the person who opened it, signed
//! so the bot can trust it — Max's scheme, which is Telegram's:
//! `secret = HMAC_SHA256(key = "WebAppData", message = bot token)`, and `hash` is the hex
//! `HMAC_SHA256(key = secret, message = every other field as "key=value", sorted, joined by
//! "\n")`. Kolokol keeps only a hash of each bot token, so it keeps the `secret` (which signs
//! initData but cannot call the bot API) from when the token is issued.

use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Fields the launch adds that are not signed.
const UNSIGNED: [&str; 3] = ["hash", "WebAppPlatform", "WebAppVersion"];

fn hmac(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes any key length");
    mac.update(message);
    mac.finalize().into_bytes().into()
}

/// The key that signs a bot's initData, from its token.
pub fn secret_key(token: &str) -> [u8; 32] {
    hmac(b"WebAppData", token.as_bytes())
}

fn data_check_string(fields: &[(String, String)]) -> String {
    let mut lines: Vec<String> = fields
        .iter()
        .filter(|(key, _)| !UNSIGNED.contains(&key.as_str()))
        .map(|(key, value)| format!("{key}={value}"))
        .collect();
    lines.sort();
    lines.join("\n")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// The initData string for these fields, with its `hash`.
pub fn sign(secret: &[u8; 32], mut fields: Vec<(String, String)>) -> String {
    let hash = hex(&hmac(secret, data_check_string(&fields).as_bytes()));
    fields.push(("hash".to_owned(), hash));
    serde_urlencoded::to_string(&fields).expect("pairs of strings encode")
}

/// Whether `init_data` was signed for the bot with this token, as a bot checks it.
pub fn verify(token: &str, init_data: &str) -> bool {
    let Ok(fields) = serde_urlencoded::from_str::<Vec<(String, String)>>(init_data) else {
        return false;
    };
    let Some((_, hash)) = fields.iter().find(|(key, _)| key == "hash") else {
        return false;
    };
    let mut mac = HmacSha256::new_from_slice(&secret_key(token)).expect("any key length");
    mac.update(data_check_string(&fields).as_bytes());
    let Some(expected) = (0..hash.len())
        .step_by(2)
        .map(|at| {
            hash.get(at..at + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect::<Option<Vec<u8>>>()
    else {
        return false;
    };
    // Constant-time comparison.
    mac.verify_slice(&expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields() -> Vec<(String, String)> {
        vec![
            ("query_id".into(), "AAF7".into()),
            ("auth_date".into(), "1800000000".into()),
            ("user".into(), r#"{"id":7,"first_name":"Анна"}"#.into()),
            ("start_param".into(), "week-5".into()),
        ]
    }

    #[test]
    fn signed_data_verifies_with_the_token_only() {
        let token = "kkb_token";
        let data = sign(&secret_key(token), fields());
        assert!(verify(token, &data));
        assert!(!verify("kkb_other", &data));
        let tampered = data.replace("week-5", "week-6");
        assert!(!verify(token, &tampered));
        // The launch may add its platform and version; they are not signed.
        assert!(verify(
            token,
            &format!("{data}&WebAppPlatform=web&WebAppVersion=1")
        ));
        for broken in ["", "hash=zz", "a=1", "%%%"] {
            assert!(!verify(token, broken), "{broken}");
        }
    }

    /// The scheme computed step by step from its definition, independently of `sign`: the
    /// fields sorted and joined, the key from the token, the hex digest.
    #[test]
    fn the_hash_is_hmac_of_the_sorted_fields() {
        let token = "kkb_token";
        let data = sign(&secret_key(token), fields());
        let parsed: Vec<(String, String)> = serde_urlencoded::from_str(&data).unwrap();
        let hash = &parsed.iter().find(|(key, _)| key == "hash").unwrap().1;
        let check = "auth_date=1800000000\nquery_id=AAF7\nstart_param=week-5\nuser={\"id\":7,\"first_name\":\"Анна\"}";
        let secret = hmac(b"WebAppData", token.as_bytes());
        assert_eq!(*hash, hex(&hmac(&secret, check.as_bytes())));
        assert_eq!(hash.len(), 64);
    }
}
