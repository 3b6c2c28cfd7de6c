//! argon2id with the OWASP-recommended parameters (19 MiB, 2 iterations, 1 lane). Hashing is
//! CPU-bound, so it runs on the blocking pool, never on the async workers, at most one per
//! core at a time: a burst of sign-ins queues here (briefly, then UNAVAILABLE) instead of
//! taking every core from the requests that are already running.

use std::{sync::LazyLock, time::Duration};

use tokio::sync::Semaphore;

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordHasher, PasswordVerifier, Version,
    password_hash::SaltString,
};

use crate::{
    error::{ApiError, ApiResult},
    validation,
};

fn argon2() -> Argon2<'static> {
    let params = Params::new(19 * 1024, 2, 1, None).expect("valid argon2 parameters");
    Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
}

/// A real hash of a random password: login verifies against it when no user matches, so a
/// wrong e-mail costs the same time as a wrong password.
static DUMMY_HASH: LazyLock<String> = LazyLock::new(|| {
    let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
    argon2()
        .hash_password(b"no such user", &salt)
        .expect("argon2 hashing")
        .to_string()
});

static SLOTS: LazyLock<Semaphore> =
    LazyLock::new(|| Semaphore::new(std::thread::available_parallelism().map_or(2, |n| n.get())));

/// How long a sign-in waits for a free core before it is told to come back later.
const QUEUE_WAIT: Duration = Duration::from_secs(3);

/// Runs one argon2 computation on the blocking pool once a core is free.
async fn on_a_free_core<T: Send + 'static>(
    work: impl FnOnce() -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let _slot = tokio::time::timeout(QUEUE_WAIT, SLOTS.acquire())
        .await
        .map_err(|_| ApiError::Unavailable)?
        .map_err(ApiError::internal)?;
    tokio::task::spawn_blocking(work)
        .await
        .map_err(ApiError::internal)?
}

pub async fn hash_password(password: String) -> ApiResult<String> {
    on_a_free_core(move || {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        argon2()
            .hash_password(password.as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|e| ApiError::internal(anyhow::anyhow!("argon2: {e}")))
    })
    .await
}

/// The passwords a request sets, hashed before its transaction opens: argon2 takes tens of
/// milliseconds of a core, and a pooled connection, shared by every tenant, must not wait on
/// it. Services that set a password take its hash from here and never hash themselves.
pub struct HashedPasswords(Vec<(String, String)>);

impl HashedPasswords {
    /// None: for a request that sets no password.
    pub fn none() -> &'static Self {
        static NONE: HashedPasswords = HashedPasswords(Vec::new());
        &NONE
    }

    /// Hashes each valid password of `passwords` once; invalid ones are left for the service
    /// to refuse with its usual error.
    pub async fn of(passwords: impl IntoIterator<Item = String>) -> ApiResult<Self> {
        let mut hashed: Vec<(String, String)> = Vec::new();
        for password in passwords {
            if validation::password(&password).is_ok()
                && !hashed.iter().any(|(known, _)| *known == password)
            {
                let hash = hash_password(password.clone()).await?;
                hashed.push((password, hash));
            }
        }
        Ok(Self(hashed))
    }

    /// The hash of `password`, which the request's caller hashed before the transaction.
    pub fn hash_of(&self, password: &str) -> ApiResult<String> {
        self.0
            .iter()
            .find(|(known, _)| known == password)
            .map(|(_, hash)| hash.clone())
            .ok_or_else(|| {
                ApiError::internal(anyhow::anyhow!(
                    "a password reached its service without being hashed before the transaction"
                ))
            })
    }
}

/// Verifies `password` against `hash`, or against a dummy hash when there is none.
pub async fn verify_password(password: String, hash: Option<String>) -> ApiResult<bool> {
    on_a_free_core(move || {
        let (hash, real) = match hash {
            Some(hash) => (hash, true),
            None => (DUMMY_HASH.clone(), false),
        };
        let parsed = PasswordHash::new(&hash)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("stored hash: {e}")))?;
        Ok(argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok()
            && real)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let hash = hash_password("correct horse".into()).await.unwrap();
        assert!(hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(
            verify_password("correct horse".into(), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(!verify_password("wrong".into(), Some(hash)).await.unwrap());
    }

    #[tokio::test]
    async fn no_user_never_verifies() {
        assert!(!verify_password("no such user".into(), None).await.unwrap());
    }
}
