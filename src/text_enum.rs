//! `text_enum!`: a GraphQL enum stored as a lower-case text column (checked by a CHECK
//! constraint in the migration), with the conversions both ways.

/// What every `text_enum!` is: a value stored as text.
pub trait TextEnum: Copy {
    /// Every stored value, in declaration order.
    const STORED: &'static [&'static str];
    fn as_db(self) -> &'static str;
    fn from_db(value: &str) -> crate::error::ApiResult<Self>;
}

#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident => $db:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(
            async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize,
            serde::Deserialize,
        )]
        pub enum $name { $($(#[$variant_meta])* #[serde(rename = $db)] $variant),+ }

        impl $crate::text_enum::TextEnum for $name {
            const STORED: &'static [&'static str] = &[$($db),+];
            fn as_db(self) -> &'static str {
                $name::as_db(self)
            }
            fn from_db(value: &str) -> $crate::error::ApiResult<Self> {
                $name::from_db(value)
            }
        }

        impl $crate::graphql::PlainValue for $name {
            fn plain_value(self) -> Option<async_graphql::Value> {
                Some(async_graphql::resolver_utils::enum_value(self))
            }
        }

        impl $name {
            /// The value stored in the database.
            pub fn as_db(self) -> &'static str {
                match self { $(Self::$variant => $db),+ }
            }

            /// Parses a stored value; anything else means the schema and code disagree.
            pub fn from_db(value: &str) -> $crate::error::ApiResult<Self> {
                match value {
                    $($db => Ok(Self::$variant),)+
                    other => Err($crate::error::ApiError::internal(anyhow::anyhow!(
                        "unknown {} value {other:?} in the database", stringify!($name)
                    ))),
                }
            }
        }
    };
}

/// `values` as a set of `E`'s stored values, one bit per value in `E::STORED`'s order (what a
/// filtered has-many page is keyed by: see `children!`).
pub fn value_set<E: TextEnum>(values: &[E]) -> u32 {
    values.iter().fold(0, |set, value| {
        let place = E::STORED.iter().position(|stored| *stored == value.as_db());
        set | place.map_or(0, |place| 1 << place)
    })
}
