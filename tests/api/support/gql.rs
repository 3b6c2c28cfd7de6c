//! A GraphQL response, with the accessors tests read it through.

use serde_json::Value;

#[derive(Debug)]
pub struct Gql {
    pub body: Value,
}

impl Gql {
    /// The data, after asserting there were no errors.
    pub fn ok(&self) -> &Value {
        assert!(
            self.body.get("errors").is_none(),
            "expected no errors, got {}",
            serde_json::to_string_pretty(&self.body).unwrap()
        );
        &self.body["data"]
    }

    /// The `extensions.code` of the first error, after asserting there is one.
    pub fn code(&self) -> &str {
        self.body["errors"][0]["extensions"]["code"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an error with a code, got {}", self.body))
    }

    /// Asserts the request was refused as BAD_USER_INPUT naming `field`.
    pub fn assert_bad_input(&self, field: &str) {
        assert_eq!(self.code(), "BAD_USER_INPUT", "{}", self.body);
        assert_eq!(
            self.body["errors"][0]["extensions"]["field"], field,
            "{}",
            self.body
        );
    }

    pub fn message(&self) -> &str {
        self.body["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
    }

    /// A value by JSON pointer into `data`, e.g. `/leads/totalCount`.
    pub fn at(&self, pointer: &str) -> &Value {
        self.ok()
            .pointer(pointer)
            .unwrap_or_else(|| panic!("nothing at {pointer} in {}", self.body))
    }
}
