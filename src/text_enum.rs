//! `text_enum!`: a GraphQL enum stored as a lower-case text column (checked by a CHECK
//! constraint in the migration), with the conversions both ways.

/// What every `text_enum!` is: a value stored as text.
pub trait TextEnum: Copy {
    fn as_db(self) -> &'static str;
    fn from_db(value: &str) -> crate::error::ApiResult<Self>;
}

#[macro_export]
macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$variant_meta:meta])* $variant:ident => $db:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(async_graphql::Enum, Clone, Copy, Debug, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$variant_meta])* $variant),+ }

        impl $crate::text_enum::TextEnum for $name {
            fn as_db(self) -> &'static str {
                $name::as_db(self)
            }
            fn from_db(value: &str) -> $crate::error::ApiResult<Self> {
                $name::from_db(value)
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
