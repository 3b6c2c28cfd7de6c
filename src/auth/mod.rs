//! Authentication: argon2id passwords, opaque refresh tokens and API keys (stored as SHA-256),
//! short-lived JWT access tokens, and turning a request's credential into a [`Principal`].
//! The GraphQL operations (sign-up, login, sessions, users, API keys) live in `graphql`.

mod credentials;
pub mod graphql;
mod jwt;
mod password;
mod secrets;
mod session;
mod usage;
mod verified_keys;
pub mod verified_principals;

pub use credentials::{
    Identity, PresentedCredential, authenticate, begin_as_principal, revalidate,
};
pub use jwt::{AccessClaims, JwtKeys};
pub use password::{HashedPasswords, hash_password, verify_password};
pub use secrets::{ApiKeySecret, sha256};
pub use session::revoke as revoke_sessions;
pub use usage::KeyUsage;
pub use verified_keys::VerifiedKeys;
pub use verified_principals::VerifiedPrincipals;
