//! Input validation: parse, don't validate. Each function returns the cleaned value or a
//! BAD_USER_INPUT naming the field, before anything is written.

use crate::error::{ApiError, ApiResult};

/// A trimmed string of 1..=max characters.
pub fn text(field: &'static str, value: &str, max: usize) -> ApiResult<String> {
    let value = value.trim();
    if value.is_empty() {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` must not be empty"),
        ));
    }
    if value.chars().count() > max {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` is longer than {max} characters"),
        ));
    }
    Ok(value.to_owned())
}

/// Like [`text`], for optional fields: empty means absent.
pub fn optional_text(
    field: &'static str,
    value: Option<&str>,
    max: usize,
) -> ApiResult<Option<String>> {
    match value.map(str::trim) {
        None | Some("") => Ok(None),
        Some(value) => text(field, value, max).map(Some),
    }
}

/// A search term of at most 200 characters (absent is fine).
pub fn search(field: &'static str, value: Option<&str>) -> ApiResult<()> {
    if value.is_some_and(|s| s.chars().count() > 200) {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` is longer than 200 characters"),
        ));
    }
    Ok(())
}

/// A syntactically valid e-mail address, lower-cased.
pub fn email(field: &'static str, value: &str) -> ApiResult<String> {
    let value = value.trim().to_lowercase();
    if value.len() > 254 || !email_address::EmailAddress::is_valid(&value) {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` is not a valid e-mail address"),
        ));
    }
    Ok(value)
}

pub fn password(value: &str) -> ApiResult<String> {
    let length = value.chars().count();
    if !(12..=128).contains(&length) {
        return Err(ApiError::bad_input(
            "password",
            "`password` must be 12 to 128 characters long",
        ));
    }
    Ok(value.to_owned())
}

/// An organization slug: lower-case letters, digits and inner hyphens, 1..=63 characters.
pub fn slug(value: &str) -> ApiResult<String> {
    let value = value.trim();
    let valid = (1..=63).contains(&value.len())
        && value
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        && !value.starts_with('-')
        && !value.ends_with('-');
    if !valid {
        return Err(ApiError::bad_input(
            "organizationSlug",
            "`organizationSlug` must be 1-63 lower-case letters, digits or inner hyphens",
        ));
    }
    Ok(value.to_owned())
}

/// An integer within an inclusive range.
pub fn range<T: PartialOrd + std::fmt::Display>(
    field: &'static str,
    value: T,
    min: T,
    max: T,
) -> ApiResult<T> {
    if value < min || value > max {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` must be between {min} and {max}"),
        ));
    }
    Ok(value)
}

/// A date or timestamp within the years RFC 3339 can write (0001 to 9999). chrono parses
/// years far beyond them, which PostgreSQL cannot store or compare.
pub fn calendar<T: chrono::Datelike>(field: &'static str, value: T) -> ApiResult<T> {
    if !(1..=9999).contains(&value.year()) {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` must be between the years 0001 and 9999"),
        ));
    }
    Ok(value)
}

/// A JSON object (custom fields, settings, metadata), at most `max_bytes` when serialized.
pub fn json_object(
    field: &'static str,
    value: serde_json::Value,
    max_bytes: usize,
) -> ApiResult<serde_json::Value> {
    if !value.is_object() {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` must be a JSON object"),
        ));
    }
    if value.to_string().len() > max_bytes {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` is larger than {max_bytes} bytes"),
        ));
    }
    Ok(value)
}

/// Rules for [`crate::inputs!`]: each takes the field's name (for its errors) and the value.
pub fn max_text(max: usize) -> impl Fn(&'static str, String) -> ApiResult<String> {
    move |field, value| text(field, &value, max)
}

pub fn between<T: PartialOrd + std::fmt::Display + Copy>(
    min: T,
    max: T,
) -> impl Fn(&'static str, T) -> ApiResult<T> {
    move |field, value| range(field, value, min, max)
}

pub fn not_negative<T: PartialOrd + Default + std::fmt::Display>(
    field: &'static str,
    value: T,
) -> ApiResult<T> {
    if value < T::default() {
        return Err(ApiError::bad_input(
            field,
            format!("`{field}` must not be negative"),
        ));
    }
    Ok(value)
}

/// An enum's stored value.
pub fn stored<E: crate::text_enum::TextEnum>(_field: &'static str, value: E) -> ApiResult<String> {
    Ok(value.as_db().to_owned())
}

/// A global id of `kind`, as the row id it names.
pub fn id_of(
    kind: crate::graphql::NodeKind,
) -> impl Fn(&'static str, async_graphql::ID) -> ApiResult<uuid::Uuid> {
    move |field, id| crate::graphql::decode_id(&id, kind, field)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_lowercased_and_checked() {
        assert_eq!(
            email("email", " Ada@Example.COM ").unwrap(),
            "ada@example.com"
        );
        assert!(email("email", "not-an-email").is_err());
        assert!(email("email", &format!("{}@x.io", "a".repeat(260))).is_err());
    }

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(text("name", "  Ada ", 10).unwrap(), "Ada");
        assert!(text("name", "   ", 10).is_err());
        assert!(text("name", &"x".repeat(11), 10).is_err());
    }

    #[test]
    fn slugs_are_strict() {
        assert!(slug("acme-corp").is_ok());
        assert!(slug("Acme").is_err());
        assert!(slug("-acme").is_err());
        assert!(slug("").is_err());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(password("short").is_err());
        assert!(password("long enough passphrase").is_ok());
    }

    #[test]
    fn dates_stay_within_four_digit_years() {
        use chrono::{DateTime, NaiveDate, Utc};
        let at = |s: &str| s.parse::<DateTime<Utc>>().unwrap();
        assert!(calendar("at", at("0001-01-01T00:00:00Z")).is_ok());
        assert!(calendar("at", at("9999-12-31T23:59:59Z")).is_ok());
        assert!(calendar("at", at("-4714-11-23T00:00:00Z")).is_err());
        assert!(calendar("at", at("+262142-12-31T23:59:59Z")).is_err());
        let day = |s: &str| s.parse::<NaiveDate>().unwrap();
        assert!(calendar("day", day("2026-06-30")).is_ok());
        assert!(calendar("day", day("0000-01-01")).is_err());
        assert!(calendar("day", day("-262143-01-01")).is_err());
    }

    #[test]
    fn json_must_be_an_object() {
        assert!(json_object("customFields", serde_json::json!([1]), 100).is_err());
        assert!(json_object("customFields", serde_json::json!({"a": 1}), 100).is_ok());
    }
}
