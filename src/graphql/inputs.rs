//! `inputs!`: a resource's writable fields, declared once. From one list it makes the create
//! input, the update input (`id`, then every field: absent = unchanged, `null` = cleared where
//! the column is nullable) and, for both, the validated column changes with their audit record
//! ([`crate::sql::Changes`]). Each field has one GraphQL name, one type, one rule (matching its
//! CHECK constraint) and one column.
//!
//! ```ignore
//! crate::inputs! {
//!     create CreateThingInput; update UpdateThingInput;
//!     fields {
//!         name "name": String = required(Column::Name, validation::max_text(255)),
//!         rank "rank": i32 = nullable(Column::Rank, validation::between(1, 100)),
//!         note "note": String = text(Column::Note, 500),
//!         price "price": MoneyInput = money(Column::Price, Column::PriceCurrency),
//!     }
//! }
//! ```
//!
//! Kinds: `required(column, rule)` (NOT NULL without a default: required on create),
//! `defaulted(column, rule)` (NOT NULL with a default: optional, never null), `nullable(column,
//! rule)`, `text(column, max)` (nullable text: empty clears it, as null does) and
//! `money(amount_column, currency_column)`. A rule is `fn(field, value) -> ApiResult<V>`, `V`
//! the column's value (see the rules in [`crate::validation`]). Fields that are not a column's
//! value (a reference checked against other rows, say) stay with the service, in the
//! `create_extra { ... }` list of fields of the create input only.

use async_graphql::MaybeUndefined;

/// A create input's optional value as a patch: absent stays absent (the column's default).
pub fn given<T>(value: Option<T>) -> MaybeUndefined<T> {
    match value {
        Some(value) => MaybeUndefined::Value(value),
        None => MaybeUndefined::Undefined,
    }
}

#[macro_export]
macro_rules! inputs {
    (
        $(#[$create_meta:meta])* create $create:ident;
        $(#[$update_meta:meta])* update $update:ident;
        fields {
            $(
                $(#[$meta:meta])*
                $field:ident $name:literal : $ty:ty = $kind:ident ( $($args:tt)* )
            ),+ $(,)?
        }
        $(create_extra {
            $( $(#[$extra_meta:meta])* $extra:ident : $extra_ty:ty ),* $(,)?
        })?
    ) => {
        $(#[$create_meta])*
        #[derive(async_graphql::InputObject, Default)]
        pub struct $create {
            $( $(#[$meta])* pub $field: $crate::inputs!(@create_type $kind $ty), )+
            $($( $(#[$extra_meta])* pub $extra: $extra_ty, )*)?
        }

        $(#[$update_meta])*
        #[derive(async_graphql::InputObject, Default)]
        pub struct $update {
            pub id: async_graphql::ID,
            $( $(#[$meta])* pub $field: $crate::inputs!(@update_type $kind $ty), )+
        }

        impl $create {
            /// The columns this input sets, each value validated by its rule.
            pub fn changes(&mut self) -> $crate::error::ApiResult<$crate::sql::Changes> {
                let mut changes = $crate::sql::Changes::default();
                $(
                    let value = std::mem::take(&mut self.$field);
                    $crate::inputs!(@apply changes $name $kind ($($args)*)
                        $crate::inputs!(@on_create $kind value));
                )+
                Ok(changes)
            }
        }

        impl $update {
            /// The columns this input changes, each value validated by its rule;
            /// BAD_USER_INPUT when it changes nothing.
            pub fn changes(self) -> $crate::error::ApiResult<$crate::sql::Changes> {
                let mut changes = $crate::sql::Changes::default();
                $( $crate::inputs!(@apply changes $name $kind ($($args)*) self.$field); )+
                if changes.is_empty() {
                    return Err($crate::error::ApiError::bad_input("input", "nothing to update"));
                }
                Ok(changes)
            }
        }
    };

    (@create_type required $ty:ty) => { $ty };
    (@create_type $kind:ident $ty:ty) => { Option<$ty> };
    (@update_type required $ty:ty) => { Option<$ty> };
    (@update_type defaulted $ty:ty) => { Option<$ty> };
    (@update_type $kind:ident $ty:ty) => { async_graphql::MaybeUndefined<$ty> };

    (@on_create required $value:expr) => { Some($value) };
    (@on_create defaulted $value:expr) => { $value };
    (@on_create $kind:ident $value:expr) => { $crate::graphql::inputs::given($value) };

    (@apply $changes:ident $name:literal required ($column:expr, $rule:expr) $value:expr) => {
        $changes.field($column, $name, $value, |v| ($rule)($name, v))?
    };
    (@apply $changes:ident $name:literal defaulted ($column:expr, $rule:expr) $value:expr) => {
        $changes.field($column, $name, $value, |v| ($rule)($name, v))?
    };
    (@apply $changes:ident $name:literal nullable ($column:expr, $rule:expr) $value:expr) => {
        $changes.nullable($column, $name, $value, |v| ($rule)($name, v))?
    };
    (@apply $changes:ident $name:literal text ($column:expr, $max:expr) $value:expr) => {
        $changes.nullable_text($column, $name, $value, $max)?
    };
    (@apply $changes:ident $name:literal money ($amount:expr, $currency:expr) $value:expr) => {
        $changes.money(($amount, $currency), $name, $value)?
    };
}
