//! The one error type resolvers return, and its single mapping to GraphQL `extensions.code`.
//! Internal errors keep their cause in the logs (with the request id) and reach clients only
//! as `INTERNAL`.

use async_graphql::{ErrorExtensionValues, ServerError};
use sea_orm::{DbErr, RuntimeErr, SqlErr};

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("authentication required")]
    Unauthenticated,
    #[error("{0}")]
    InvalidCredentials(&'static str),
    #[error("{0}")]
    Forbidden(&'static str),
    /// Names what is missing, as a resource (`api_key`) or in words.
    #[error("{} not found", .0.replace('_', " "))]
    NotFound(&'static str),
    #[error("{message}")]
    BadUserInput {
        field: Option<&'static str>,
        message: String,
    },
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Limit(String),
    #[error("the request took longer than its time budget")]
    Timeout,
    /// An event cursor older than what retention keeps.
    #[error("events after this cursor are no longer kept (retention); start from a recent cursor")]
    CursorExpired,
    /// A subscription the server ended; the client resumes from `cursor`.
    #[error("{reason}; subscribe again with after: the cursor in extensions.cursor")]
    ResumeRequired {
        reason: &'static str,
        cursor: String,
    },
    /// A document that does not parse.
    #[error("{0}")]
    Parse(String),
    /// A document that parses but cannot run as sent (unknown operation, fragment cycle).
    #[error("{0}")]
    Invalid(String),
    /// The caller has used up its share for now; it may try again after `retry_after`.
    #[error("{message}")]
    RateLimited {
        message: String,
        retry_after: std::time::Duration,
    },
    /// The server cannot take the request right now (database pool exhausted or down).
    #[error("the service is temporarily unavailable; try again shortly")]
    Unavailable,
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

/// The stable codes clients branch on.
pub mod code {
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const CONFLICT: &str = "CONFLICT";
    pub const LIMIT_EXCEEDED: &str = "LIMIT_EXCEEDED";
    pub const TIMEOUT: &str = "TIMEOUT";
    pub const CURSOR_EXPIRED: &str = "CURSOR_EXPIRED";
    pub const RESUME_REQUIRED: &str = "RESUME_REQUIRED";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const UNAVAILABLE: &str = "UNAVAILABLE";
    pub const INTERNAL: &str = "INTERNAL";
    pub const GRAPHQL_PARSE_FAILED: &str = "GRAPHQL_PARSE_FAILED";
    pub const GRAPHQL_VALIDATION_FAILED: &str = "GRAPHQL_VALIDATION_FAILED";
}

pub type ApiResult<T> = Result<T, ApiError>;

impl ApiError {
    pub fn bad_input(field: &'static str, message: impl Into<String>) -> Self {
        Self::BadUserInput {
            field: Some(field),
            message: message.into(),
        }
    }

    /// A unique value's CONFLICT, told as `message` (what is taken); other errors as they are.
    pub fn taken(self, message: &str) -> Self {
        match self {
            Self::Conflict(_) => Self::Conflict(message.to_owned()),
            other => other,
        }
    }

    /// A nested input's BAD_USER_INPUT, named as the field holding it (`filter`).
    pub fn within(self, field: &'static str) -> Self {
        match self {
            Self::BadUserInput { message, .. } => Self::bad_input(field, message),
            other => other,
        }
    }

    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        Self::Internal(cause.into())
    }

    /// When a refused request may be tried again (RATE_LIMITED, UNAVAILABLE).
    pub fn retry_after(&self) -> Option<std::time::Duration> {
        match self {
            Self::RateLimited { retry_after, .. } => Some(*retry_after),
            Self::Unavailable => Some(std::time::Duration::from_secs(1)),
            _ => None,
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            Self::Unauthenticated | Self::InvalidCredentials(_) => code::UNAUTHENTICATED,
            Self::Forbidden(_) => code::FORBIDDEN,
            Self::NotFound(_) => code::NOT_FOUND,
            Self::BadUserInput { .. } => code::BAD_USER_INPUT,
            Self::Conflict(_) => code::CONFLICT,
            Self::Limit(_) => code::LIMIT_EXCEEDED,
            Self::Timeout => code::TIMEOUT,
            Self::CursorExpired => code::CURSOR_EXPIRED,
            Self::ResumeRequired { .. } => code::RESUME_REQUIRED,
            Self::Parse(_) => code::GRAPHQL_PARSE_FAILED,
            Self::Invalid(_) => code::GRAPHQL_VALIDATION_FAILED,
            Self::RateLimited { .. } => code::RATE_LIMITED,
            Self::Unavailable => code::UNAVAILABLE,
            Self::Internal(_) => code::INTERNAL,
        }
    }
}

impl From<DbErr> for ApiError {
    /// Constraint violations are the client's doing and say so without naming tables or other
    /// tenants' data; everything else is internal.
    fn from(err: DbErr) -> Self {
        if is_unavailable(&err) {
            return Self::Unavailable;
        }
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                return Self::Conflict("a record with the same unique value already exists".into());
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                return Self::NotFound("referenced record");
            }
            _ => {}
        }
        match pg_code(&err).as_deref() {
            Some("23514") => Self::BadUserInput {
                field: None,
                message: "a value is outside its allowed range or format".into(),
            },
            Some("57014") => Self::Timeout,
            // A deadlock or serialization failure with a concurrent request: nothing was kept.
            Some("40P01" | "40001") => Self::Conflict(
                "another request changed the same records at the same time: retry".into(),
            ),
            _ => Self::Internal(err.into()),
        }
    }
}

/// The pool had no connection in time, or the database cannot be reached: the client should
/// retry, and nothing about the request was wrong.
fn is_unavailable(err: &DbErr) -> bool {
    let runtime = match err {
        DbErr::ConnectionAcquire(_) => return true,
        DbErr::Conn(e) | DbErr::Exec(e) | DbErr::Query(e) => e,
        _ => return false,
    };
    let RuntimeErr::SqlxError(sqlx) = runtime else {
        return false;
    };
    if let Some(db) = sqlx.as_database_error() {
        // admin_shutdown, crash_shutdown, cannot_connect_now, too_many_connections
        return matches!(
            db.code().as_deref(),
            Some("57P01" | "57P02" | "57P03" | "53300")
        );
    }
    matches!(
        sqlx.as_ref(),
        sqlx::Error::Io(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
            | sqlx::Error::Tls(_)
    )
}

/// The SQLSTATE of a database error, when there is one.
pub fn pg_code(err: &DbErr) -> Option<String> {
    let runtime = match err {
        DbErr::Exec(e) | DbErr::Query(e) => e,
        _ => return None,
    };
    match runtime {
        RuntimeErr::SqlxError(sqlx) => sqlx
            .as_database_error()
            .and_then(|db| db.code())
            .map(|c| c.into_owned()),
        _ => None,
    }
}

/// Sets `extensions.code` (and `field`) on an error whose source is an [`ApiError`], logging
/// the cause of internal ones. Resolvers return `ApiError`s through async-graphql's blanket
/// conversion, which keeps the error as the source; this is the one place codes are assigned.
/// Returns false when the error did not come from an `ApiError`.
pub fn annotate(error: &mut ServerError) -> bool {
    // A database error that reached a resolver's `?` without becoming an `ApiError` first
    // still gets the code its cause deserves (UNAVAILABLE, TIMEOUT, INTERNAL...).
    let from_db = error.source::<DbErr>().map(|db| ApiError::from(db.clone()));
    if let Some(api_error) = &from_db {
        error.message = api_error.to_string();
    }
    let Some(api_error) = from_db.as_ref().or(error.source::<ApiError>()) else {
        return false;
    };
    if let ApiError::Internal(cause) = api_error {
        // The request span carries the request id.
        tracing::error!(error = ?cause, "internal error");
    }
    let code = api_error.code();
    let field = match api_error {
        ApiError::BadUserInput { field, .. } => *field,
        _ => None,
    };
    let cursor = match api_error {
        ApiError::ResumeRequired { cursor, .. } => Some(cursor.clone()),
        _ => None,
    };
    let retry_after = api_error.retry_after();
    let extensions = error
        .extensions
        .get_or_insert_with(ErrorExtensionValues::default);
    extensions.set("code", code);
    if let Some(field) = field {
        extensions.set("field", field);
    }
    if let Some(cursor) = cursor {
        extensions.set("cursor", cursor);
    }
    if let Some(retry_after) = retry_after {
        extensions.set(
            "retryAfter",
            (retry_after.as_secs_f64().ceil() as u64).max(1),
        );
    }
    true
}

#[cfg(test)]
mod tests {
    use async_graphql::{Pos, Value};

    use super::*;

    fn annotated(err: ApiError) -> ServerError {
        let mut server_error = async_graphql::Error::from(err).into_server_error(Pos::default());
        assert!(annotate(&mut server_error));
        server_error
    }

    fn extension(error: &ServerError, name: &str) -> Option<Value> {
        error.extensions.as_ref().and_then(|e| e.get(name)).cloned()
    }

    #[test]
    fn every_variant_maps_to_its_code() {
        let cases = [
            (ApiError::Unauthenticated, "UNAUTHENTICATED"),
            (
                ApiError::InvalidCredentials("invalid credentials"),
                "UNAUTHENTICATED",
            ),
            (ApiError::Forbidden("no"), "FORBIDDEN"),
            (ApiError::NotFound("lead"), "NOT_FOUND"),
            (ApiError::bad_input("email", "bad"), "BAD_USER_INPUT"),
            (ApiError::Conflict("dup".into()), "CONFLICT"),
            (ApiError::Limit("too deep".into()), "LIMIT_EXCEEDED"),
            (ApiError::Timeout, "TIMEOUT"),
            (ApiError::CursorExpired, "CURSOR_EXPIRED"),
            (
                ApiError::ResumeRequired {
                    reason: "behind",
                    cursor: "c".into(),
                },
                "RESUME_REQUIRED",
            ),
            (ApiError::internal(anyhow::anyhow!("boom")), "INTERNAL"),
        ];
        for (err, code) in cases {
            assert_eq!(
                extension(&annotated(err), "code"),
                Some(Value::String(code.into()))
            );
        }
    }

    #[test]
    fn internal_errors_hide_their_cause() {
        let error = annotated(ApiError::internal(anyhow::anyhow!(
            "relation \"leads\" does not exist"
        )));
        assert_eq!(error.message, "internal error");
    }

    #[test]
    fn resume_required_carries_the_cursor_to_resume_from() {
        let error = annotated(ApiError::ResumeRequired {
            reason: "behind",
            cursor: "abc".into(),
        });
        assert_eq!(
            extension(&error, "cursor"),
            Some(Value::String("abc".into()))
        );
    }

    #[test]
    fn bad_input_names_the_field() {
        let error = annotated(ApiError::bad_input("email", "not an e-mail"));
        assert_eq!(
            extension(&error, "field"),
            Some(Value::String("email".into()))
        );
    }

    #[test]
    fn other_errors_are_left_alone() {
        let mut error = async_graphql::Error::new("parse error").into_server_error(Pos::default());
        assert!(!annotate(&mut error));
        assert!(error.extensions.is_none());
    }
}
