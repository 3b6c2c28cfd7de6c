//! Opaque secrets handed to clients once: refresh tokens and API keys. Only their SHA-256 is
//! stored; they carry 256 bits of randomness, so a fast hash is the right one.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::RngCore;
use sha2::{Digest, Sha256};

pub fn sha256(value: &str) -> Vec<u8> {
    Sha256::digest(value.as_bytes()).to_vec()
}

fn random_token(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    rand::rng().fill_bytes(&mut buf);
    URL_SAFE_NO_PAD.encode(buf)
}

/// A new refresh token: 32 random bytes, base64url.
pub fn new_refresh_token() -> String {
    random_token(32)
}

/// An API key: `lg_<prefix>_<secret>`. The prefix (public, stored in clear) finds the key;
/// the whole key's hash proves it.
pub struct ApiKeySecret {
    pub prefix: String,
    pub key: String,
}

pub const API_KEY_MARKER: &str = "lg_";

impl ApiKeySecret {
    pub fn generate() -> Self {
        // base64url may contain '_', so the prefix is hex to keep the separator unambiguous.
        let mut prefix_bytes = [0u8; 6];
        rand::rng().fill_bytes(&mut prefix_bytes);
        let prefix: String = prefix_bytes.iter().map(|b| format!("{b:02x}")).collect();
        let key = format!("{API_KEY_MARKER}{prefix}_{}", random_token(32));
        Self { prefix, key }
    }

    /// Splits a presented key into its prefix; `None` when it is not shaped like one of ours.
    pub fn prefix_of(key: &str) -> Option<&str> {
        let rest = key.strip_prefix(API_KEY_MARKER)?;
        let (prefix, secret) = rest.split_once('_')?;
        (prefix.len() == 12 && !secret.is_empty()).then_some(prefix)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_parse_back_to_their_prefix() {
        let secret = ApiKeySecret::generate();
        assert_eq!(
            ApiKeySecret::prefix_of(&secret.key),
            Some(secret.prefix.as_str())
        );
    }

    #[test]
    fn foreign_strings_are_not_keys() {
        assert_eq!(ApiKeySecret::prefix_of("eyJhbGciOi.x.y"), None);
        assert_eq!(ApiKeySecret::prefix_of("lg_short_x"), None);
    }

    #[test]
    fn refresh_tokens_differ() {
        assert_ne!(new_refresh_token(), new_refresh_token());
    }
}
