//! Access tokens: HS256 JWTs naming the organization, the user and the session family.
//! The role is not in the token; it is read on every request, so changes apply at once.

use std::time::Duration;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::config::Secret;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    /// The user.
    pub sub: Uuid,
    /// The organization: the request's tenant.
    pub org: Uuid,
    /// The refresh-token family of the session; logging out revokes it.
    pub fam: Uuid,
    pub iat: i64,
    pub exp: i64,
}

#[derive(Clone)]
pub struct JwtKeys {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    pub access_ttl: Duration,
}

impl JwtKeys {
    pub fn new(secret: &Secret, access_ttl: Duration) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = 5;
        validation.set_required_spec_claims(&["exp", "sub"]);
        Self {
            encoding: EncodingKey::from_secret(secret.expose().as_bytes()),
            decoding: DecodingKey::from_secret(secret.expose().as_bytes()),
            validation,
            access_ttl,
        }
    }

    pub fn issue(&self, org: Uuid, user: Uuid, family: Uuid) -> String {
        let now = chrono::Utc::now().timestamp();
        self.sign(&AccessClaims {
            sub: user,
            org,
            fam: family,
            iat: now,
            exp: now + self.access_ttl.as_secs() as i64,
        })
    }

    pub fn sign(&self, claims: &AccessClaims) -> String {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.encoding)
            .expect("HS256 signing cannot fail")
    }

    /// `None` for anything not signed by us, expired, or malformed.
    pub fn verify(&self, token: &str) -> Option<AccessClaims> {
        jsonwebtoken::decode::<AccessClaims>(token, &self.decoding, &self.validation)
            .ok()
            .map(|data| data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys() -> JwtKeys {
        JwtKeys::new(&Secret::new("k".repeat(32)), Duration::from_secs(900))
    }

    #[test]
    fn issued_tokens_verify() {
        let (org, user, fam) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let claims = keys().verify(&keys().issue(org, user, fam)).unwrap();
        assert_eq!((claims.org, claims.sub, claims.fam), (org, user, fam));
    }

    #[test]
    fn expired_tokens_do_not_verify() {
        let now = chrono::Utc::now().timestamp();
        let token = keys().sign(&AccessClaims {
            sub: Uuid::nil(),
            org: Uuid::nil(),
            fam: Uuid::nil(),
            iat: now - 1000,
            exp: now - 60,
        });
        assert!(keys().verify(&token).is_none());
    }

    #[test]
    fn tokens_signed_with_another_key_do_not_verify() {
        let other = JwtKeys::new(&Secret::new("x".repeat(32)), Duration::from_secs(900));
        let token = other.issue(Uuid::nil(), Uuid::nil(), Uuid::nil());
        assert!(keys().verify(&token).is_none());
    }
}
