//! Exact numbers in the API. GraphQL `Int` is 32 bits and JavaScript numbers lose whole
//! numbers above 2^53, so anything larger travels as a decimal string: [`BigInt`] for counts,
//! [`Money`] for amounts (a `Decimal` string in major units, e.g. "125000.50", and an ISO 4217
//! currency). Nothing here passes through a float.

use async_graphql::{
    InputObject, InputValueError, InputValueResult, Scalar, ScalarType, SimpleObject,
};
use rust_decimal::Decimal;

use crate::error::{ApiError, ApiResult};

/// A whole number that may exceed 32 bits, as a decimal string ("9007199254740993").
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct BigInt(pub i64);

#[Scalar]
impl ScalarType for BigInt {
    fn parse(value: async_graphql::Value) -> InputValueResult<Self> {
        match &value {
            async_graphql::Value::String(s) => s
                .parse()
                .map(Self)
                .map_err(|_| InputValueError::custom("a BigInt is a whole number as a string")),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::String(self.0.to_string())
    }
}

/// An exact decimal number, as a string ("125000.50"). Whole numbers may also come as
/// numbers; fractions only as strings, so no float ever carries one. (async-graphql's own
/// `Decimal` reads numbers through f64.)
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ExactDecimal(pub Decimal);

#[Scalar(name = "Decimal")]
impl ScalarType for ExactDecimal {
    fn parse(value: async_graphql::Value) -> InputValueResult<Self> {
        match &value {
            async_graphql::Value::String(s) => s.trim().parse().map(Self).map_err(|_| {
                InputValueError::custom("a Decimal is a number in a string, e.g. \"1250.50\"")
            }),
            async_graphql::Value::Number(n) => n
                .as_i64()
                .map(|whole| Self(Decimal::from(whole)))
                .ok_or_else(|| {
                    InputValueError::custom("give a fraction as a string, e.g. \"1250.50\"")
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> async_graphql::Value {
        async_graphql::Value::String(self.0.to_string())
    }
}

/// An amount of money: exact, in major units of its currency.
#[derive(SimpleObject, Clone, Debug, PartialEq, Eq)]
pub struct Money {
    /// In major units ("125000.50" US dollars), as many decimals as the currency has.
    pub amount: ExactDecimal,
    /// ISO 4217 alphabetic code, e.g. "USD", "EUR", "JPY".
    pub currency: String,
}

/// An amount of money as a client gives it.
#[derive(InputObject, Clone, Debug)]
pub struct MoneyInput {
    /// In major units, a decimal string; no more decimals than the currency has (2 for
    /// "EUR", 0 for "JPY", 3 for "KWD").
    pub amount: ExactDecimal,
    /// ISO 4217 alphabetic code, upper case.
    pub currency: String,
}

/// Digits before the decimal point that the money columns (`numeric(22, 4)`) hold.
const MAX_WHOLE_DIGITS: u32 = 18;

impl Money {
    /// The value of an amount column and its currency column.
    pub fn from_columns(amount: Option<Decimal>, currency: &str) -> Option<Self> {
        Some(Self {
            amount: ExactDecimal(amount?.normalize()),
            currency: currency.to_owned(),
        })
    }
}

impl MoneyInput {
    /// A non-negative amount in a known currency with no more decimals than it has, that the
    /// columns can hold; `field` names the input in errors.
    pub fn validate(self, field: &'static str) -> ApiResult<(Decimal, String)> {
        let Some(minor_units) = minor_units(&self.currency) else {
            return Err(ApiError::bad_input(
                field,
                format!("`{field}.currency` is not an ISO 4217 currency code"),
            ));
        };
        let amount = self.amount.0.normalize();
        if amount.is_sign_negative() && !amount.is_zero() {
            return Err(ApiError::bad_input(
                field,
                format!("`{field}.amount` must not be negative"),
            ));
        }
        if amount.scale() > minor_units {
            return Err(ApiError::bad_input(
                field,
                format!(
                    "`{field}.amount` has more decimals than {} has ({minor_units})",
                    self.currency
                ),
            ));
        }
        if amount.trunc() >= Decimal::from(10_i64.pow(MAX_WHOLE_DIGITS)) {
            return Err(ApiError::bad_input(
                field,
                format!("`{field}.amount` must be below 10^{MAX_WHOLE_DIGITS}"),
            ));
        }
        Ok((amount.abs(), self.currency))
    }
}

/// Decimals of an ISO 4217 currency (its minor units), or `None` for an unknown code.
pub fn minor_units(code: &str) -> Option<u32> {
    CURRENCIES
        .binary_search_by(|(known, _)| (*known).cmp(code))
        .ok()
        .map(|i| CURRENCIES[i].1)
}

/// The active ISO 4217 currencies with minor units (the funds and metals without them left
/// out), sorted by code.
#[rustfmt::skip]
const CURRENCIES: &[(&str, u32)] = &[
    ("AED", 2), ("AFN", 2), ("ALL", 2), ("AMD", 2), ("ANG", 2), ("AOA", 2), ("ARS", 2),
    ("AUD", 2), ("AWG", 2), ("AZN", 2), ("BAM", 2), ("BBD", 2), ("BDT", 2), ("BGN", 2),
    ("BHD", 3), ("BIF", 0), ("BMD", 2), ("BND", 2), ("BOB", 2), ("BOV", 2), ("BRL", 2),
    ("BSD", 2), ("BTN", 2), ("BWP", 2), ("BYN", 2), ("BZD", 2), ("CAD", 2), ("CDF", 2),
    ("CHE", 2), ("CHF", 2), ("CHW", 2), ("CLF", 4), ("CLP", 0), ("CNY", 2), ("COP", 2),
    ("COU", 2), ("CRC", 2), ("CUP", 2), ("CVE", 2), ("CZK", 2), ("DJF", 0), ("DKK", 2),
    ("DOP", 2), ("DZD", 2), ("EGP", 2), ("ERN", 2), ("ETB", 2), ("EUR", 2), ("FJD", 2),
    ("FKP", 2), ("GBP", 2), ("GEL", 2), ("GHS", 2), ("GIP", 2), ("GMD", 2), ("GNF", 0),
    ("GTQ", 2), ("GYD", 2), ("HKD", 2), ("HNL", 2), ("HTG", 2), ("HUF", 2), ("IDR", 2),
    ("ILS", 2), ("INR", 2), ("IQD", 3), ("IRR", 2), ("ISK", 0), ("JMD", 2), ("JOD", 3),
    ("JPY", 0), ("KES", 2), ("KGS", 2), ("KHR", 2), ("KMF", 0), ("KPW", 2), ("KRW", 0),
    ("KWD", 3), ("KYD", 2), ("KZT", 2), ("LAK", 2), ("LBP", 2), ("LKR", 2), ("LRD", 2),
    ("LSL", 2), ("LYD", 3), ("MAD", 2), ("MDL", 2), ("MGA", 2), ("MKD", 2), ("MMK", 2),
    ("MNT", 2), ("MOP", 2), ("MRU", 2), ("MUR", 2), ("MVR", 2), ("MWK", 2), ("MXN", 2),
    ("MXV", 2), ("MYR", 2), ("MZN", 2), ("NAD", 2), ("NGN", 2), ("NIO", 2), ("NOK", 2),
    ("NPR", 2), ("NZD", 2), ("OMR", 3), ("PAB", 2), ("PEN", 2), ("PGK", 2), ("PHP", 2),
    ("PKR", 2), ("PLN", 2), ("PYG", 0), ("QAR", 2), ("RON", 2), ("RSD", 2), ("RUB", 2),
    ("RWF", 0), ("SAR", 2), ("SBD", 2), ("SCR", 2), ("SDG", 2), ("SEK", 2), ("SGD", 2),
    ("SHP", 2), ("SLE", 2), ("SOS", 2), ("SRD", 2), ("SSP", 2), ("STN", 2), ("SVC", 2),
    ("SYP", 2), ("SZL", 2), ("THB", 2), ("TJS", 2), ("TMT", 2), ("TND", 3), ("TOP", 2),
    ("TRY", 2), ("TTD", 2), ("TWD", 2), ("TZS", 2), ("UAH", 2), ("UGX", 0), ("USD", 2),
    ("USN", 2), ("UYI", 0), ("UYU", 2), ("UYW", 4), ("UZS", 2), ("VED", 2), ("VES", 2),
    ("VND", 0), ("VUV", 0), ("WST", 2), ("XAF", 0), ("XCD", 2), ("XCG", 2), ("XOF", 0),
    ("XPF", 0), ("YER", 2), ("ZAR", 2), ("ZMW", 2), ("ZWG", 2),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn money(amount: &str, currency: &str) -> ApiResult<(Decimal, String)> {
        MoneyInput {
            amount: ExactDecimal(amount.parse().unwrap()),
            currency: currency.to_owned(),
        }
        .validate("estimatedDealValue")
    }

    #[test]
    fn the_currency_table_is_sorted_for_lookup() {
        assert!(CURRENCIES.windows(2).all(|pair| pair[0].0 < pair[1].0));
        assert_eq!(minor_units("EUR"), Some(2));
        assert_eq!(minor_units("JPY"), Some(0));
        assert_eq!(minor_units("KWD"), Some(3));
        assert_eq!(minor_units("usd"), None);
        assert_eq!(minor_units("XXX"), None);
    }

    #[test]
    fn amounts_are_exact_and_keep_to_their_currency() {
        assert_eq!(money("125000.50", "USD").unwrap().0.to_string(), "125000.5");
        assert_eq!(money("1.2300", "EUR").unwrap().0.to_string(), "1.23");
        assert_eq!(money("0.001", "KWD").unwrap().0.to_string(), "0.001");
        assert_eq!(
            money("999999999999999999.99", "USD").unwrap().0.to_string(),
            "999999999999999999.99"
        );
        assert!(money("0", "JPY").is_ok());
        assert!(money("-0.00", "USD").is_ok());
        for (amount, currency) in [
            ("-1", "USD"),
            ("1.5", "JPY"),
            ("0.001", "EUR"),
            ("1000000000000000000", "USD"),
            ("10", "usd"),
            ("10", "DOLLARS"),
        ] {
            let err = money(amount, currency).unwrap_err();
            assert_eq!(err.code(), "BAD_USER_INPUT", "{amount} {currency}");
            assert!(matches!(
                err,
                ApiError::BadUserInput {
                    field: Some("estimatedDealValue"),
                    ..
                }
            ));
        }
    }

    #[test]
    fn decimals_never_pass_through_a_float() {
        let parse =
            |value: async_graphql::Value| ExactDecimal::parse(value).map(|d| d.0.to_string());
        assert_eq!(parse("0.1".into()).unwrap(), "0.1");
        assert_eq!(
            parse(9_007_199_254_740_993_i64.into()).unwrap(),
            "9007199254740993"
        );
        assert!(parse(async_graphql::Value::from(0.1)).is_err());
        assert!(parse("ten".into()).is_err());
        assert_eq!(
            ExactDecimal("125000.50".parse().unwrap()).to_value(),
            async_graphql::Value::String("125000.50".into())
        );
    }

    #[test]
    fn big_integers_travel_as_strings() {
        let big = BigInt(9_007_199_254_740_993);
        let value = big.to_value();
        assert_eq!(
            value,
            async_graphql::Value::String("9007199254740993".into())
        );
        assert_eq!(BigInt::parse(value).unwrap(), big);
        assert!(BigInt::parse(async_graphql::Value::from(5)).is_err());
    }
}
