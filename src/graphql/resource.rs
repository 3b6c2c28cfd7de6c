//! A resource's GraphQL surface, declared: its object (`object!`), its top-level queries
//! (`queries!`), its mutations (`mutations!`) and their payloads (`payloads!`). The macros
//! write the resolvers every resource would otherwise repeat — column getters, the Relay list
//! arguments, id decoding, the acting user, the payload — and leave each resource its own
//! rules: the filter, the orderings, the inputs and the services.

use async_graphql::{
    Context, ContextSelectionSet, ID, Json, OutputType, Positioned, Value, parser::types::Field,
};
use chrono::{DateTime, FixedOffset, Utc};

use uuid::Uuid;

use super::{
    ById, Columns, ContextExt, NodeKind, ReadsColumns, RequestContext, TenantRow, ToMany, ToOne,
    decode_id,
    joined::{Joins, find_joined},
    via,
};
use crate::{error::ApiResult, sql::SqlBuilder, text_enum::TextEnum};

/// A GraphQL object over one row of a tenant table, with a global id of kind `KIND`.
pub trait NodeObject: OutputType + ReadsColumns + Sized {
    type Row: TenantRow;
    const KIND: NodeKind;
    /// Its `belongs_to` relations, which a statement of these objects may join (`joined`).
    const TO_ONE: &'static [ToOne] = &[];
    /// Its has-many relations, whose first pages a statement of these objects may carry.
    const TO_MANY: &'static [ToMany] = &[];
    fn new(row: Self::Row) -> Self;
}

/// An `object!` object, which can be resolved without a future when its selection allows
/// (`graphql::plain`).
pub trait PlainObject: NodeObject {
    /// The object over `row` resolved now, when every field `ctx` selects is plain.
    fn resolve_now(ctx: &ContextSelectionSet<'_>, row: &Self::Row) -> Option<Value>;
}

/// A column's stored value as its GraphQL field gives it: strings borrowed, timestamps in UTC,
/// copies of the rest. Lets `object!` write every plain getter the same way.
pub trait IntoField<T> {
    fn into_field(self) -> T;
}

impl<T: Copy> IntoField<T> for &T {
    fn into_field(self) -> T {
        *self
    }
}

impl<'a> IntoField<&'a str> for &'a String {
    fn into_field(self) -> &'a str {
        self
    }
}

impl<'a> IntoField<Option<&'a str>> for &'a Option<String> {
    fn into_field(self) -> Option<&'a str> {
        self.as_deref()
    }
}

impl<'a> IntoField<&'a [String]> for &'a Vec<String> {
    fn into_field(self) -> &'a [String] {
        self
    }
}

impl IntoField<DateTime<Utc>> for &DateTime<FixedOffset> {
    fn into_field(self) -> DateTime<Utc> {
        (*self).into()
    }
}

impl IntoField<Option<DateTime<Utc>>> for &Option<DateTime<FixedOffset>> {
    fn into_field(self) -> Option<DateTime<Utc>> {
        self.map(Into::into)
    }
}

impl<'a> IntoField<Json<&'a serde_json::Value>> for &'a serde_json::Value {
    fn into_field(self) -> Json<&'a serde_json::Value> {
        Json(self)
    }
}

/// A stored enum (`text_enum!`); a value the enum lacks is an INTERNAL error.
impl<E: TextEnum> IntoField<async_graphql::Result<E>> for &String {
    fn into_field(self) -> async_graphql::Result<E> {
        Ok(E::from_db(self)?)
    }
}

impl<E: TextEnum> IntoField<async_graphql::Result<Option<E>>> for &Option<String> {
    fn into_field(self) -> async_graphql::Result<Option<E>> {
        Ok(self.as_deref().map(E::from_db).transpose()?)
    }
}

impl<E: TextEnum> IntoField<async_graphql::Result<Vec<E>>> for &Vec<String> {
    fn into_field(self) -> async_graphql::Result<Vec<E>> {
        Ok(self
            .iter()
            .map(|value| E::from_db(value))
            .collect::<ApiResult<_>>()?)
    }
}

/// A list's `filter` argument: validated, then turned into its SQL conditions (on alias `t`,
/// `$1` being the tenant) once per request.
pub trait ListFilter: Default {
    fn conditions(self) -> ApiResult<impl Fn(&mut SqlBuilder) + Sync>;
}

/// The object of type `N` with global id `id` in the caller's organization, through the
/// request's by-id loader; BAD_USER_INPUT naming `id` when it is not an id of `N`'s kind.
pub async fn find<N: NodeObject>(ctx: &Context<'_>, id: &ID) -> async_graphql::Result<Option<N>> {
    let id = decode_id(id, N::KIND, "id")?;
    let joins = Joins::selected::<N>(ctx, &[ctx.field()]);
    if !joins.is_empty() {
        return find_joined(ctx, id, &joins).await;
    }
    related::<N, { via::ANY }>(ctx, id).await
}

/// The object of type `N` a row refers to by `id` (none when the reference is null), through
/// the request's loader for relation `VIA`: the row handed over with the page that refers to
/// it (`joined`) when it was read with the columns this field's selection reads, else loaded
/// by id with the columns the batch's fields read.
pub async fn related<N: NodeObject, const VIA: u8>(
    ctx: &Context<'_>,
    id: impl Into<Option<Uuid>>,
) -> async_graphql::Result<Option<N>> {
    let Some(id) = id.into() else {
        return Ok(None);
    };
    let loader = ctx.loader()?;
    let reads = || {
        loader.loader().columns_read_by(ctx.item, || {
            Columns::read_by::<N::Row>(N::FIELDS.as_ref(), [ctx.field()], &[])
        })
    };
    let row = match loader.loader().primed::<N::Row, VIA>(id, reads) {
        Some(row) => Some(row),
        None => {
            loader.loader().wants::<N::Row, VIA>(reads());
            loader.load_one(ById::<N::Row, VIA>::new(id)).await?
        }
    };
    // A row shared with other objects is copied; a loaded one is moved out once the loader
    // has let go of it.
    Ok(row.map(|row| N::new(std::sync::Arc::unwrap_or_clone(row))))
}

/// [`related`] answered now, as the relation's value: when the reference is null, or its row
/// was handed over with the columns `field`'s selection reads and every field of that
/// selection is plain. `None`: resolve it through [`related`]. The row is read where it is,
/// not copied.
pub fn related_now<N: PlainObject, const VIA: u8>(
    ctx: &ContextSelectionSet<'_>,
    field: &Positioned<Field>,
    id: impl Into<Option<Uuid>>,
) -> Option<Value> {
    let Some(id) = id.into() else {
        return Some(Value::Null);
    };
    let loader = ctx.data_opt::<RequestContext>()?.loader.as_ref()?.loader();
    let field_ctx = ctx.with_field(field);
    let reads = || {
        loader.columns_read_by(field, || {
            Columns::read_by::<N::Row>(N::FIELDS.as_ref(), [field_ctx.field()], &[])
        })
    };
    let row = loader.primed::<N::Row, VIA>(id, reads)?;
    N::resolve_now(
        &field_ctx.with_selection_set(&field.node.selection_set),
        &row,
    )
}

/// A row's GraphQL object: its `id`, a getter for each listed column (a column named as its
/// field, typed as GraphQL gives it: see [`IntoField`]), the rows it refers to (`belongs_to`:
/// loaded by id, through relation `via` when one kind of row is reached through several), its
/// has-many relations as connections (`children`, declared with `children!`; the child type
/// wraps the child row; `| filter F` adds a `filter: F` argument narrowing the page, F a
/// [`NarrowChildren`](crate::graphql::NarrowChildren)), then the fields written by hand
/// (`extra`). A field with a
/// `complexity` cannot be written in `extra`: macro hygiene hides `child_complexity` from it.
/// The `id` and column getters are answered straight from the row (`graphql::plain`); the
/// other fields run on a borrowed twin of the object whose `self.0` is `&Row`, so a helper an
/// `extra` field calls takes the row, not the object.
///
/// ```ignore
/// crate::object! {
///     /// A company leads work at.
///     Company(companies::Model) as Company {
///         name: &str,
///         /// Lower-case.
///         domain: Option<&str>,
///         created_at: DateTime<Utc>,
///     }
///     belongs_to {
///         /// Who created it.
///         created_by: User by created_by_id via KEY_CREATOR,
///     }
///     children {
///         /// Its live leads, newest first.
///         leads: Lead by CompanyLeads,
///     }
///     extra {
///         async fn annual_revenue(&self) -> Option<Money> { ... }
///     }
/// }
/// ```
#[macro_export]
macro_rules! object {
    (
        $(#[$meta:meta])*
        $object:ident($row:ty) as $kind:ident {
            $( $(#[$field_meta:meta])* $field:ident : $ty:ty ),* $(,)?
        }
        $(belongs_to {
            $(
                $(#[$ref_meta:meta])*
                $reference:ident : $target:ident by $column:ident $(via $via:ident)?
            ),* $(,)?
        })?
        $(children {
            $(
                $(#[$child_meta:meta])*
                $children:ident : $child:ident by $relation:ty $(| filter $filter:ty)?
            ),* $(,)?
        })?
        $(extra { $($resolvers:tt)* })?
    ) => {
        $(#[$meta])*
        pub struct $object(pub $row);

        impl $crate::graphql::NodeObject for $object {
            type Row = $row;
            const KIND: $crate::graphql::NodeKind = $crate::graphql::NodeKind::$kind;
            const TO_ONE: &'static [$crate::graphql::ToOne] = &[$($(
                $crate::graphql::ToOne::of::<$target, { $crate::object!(@via $($via)?) }>(
                    stringify!($reference),
                    stringify!($column),
                ),
            )*)?];
            const TO_MANY: &'static [$crate::graphql::ToMany] = &[$($(
                $crate::graphql::ToMany::of::<$relation, $child>(stringify!($children)),
            )*)?];
            fn new(row: $row) -> Self {
                Self(row)
            }
        }

        impl $crate::graphql::ReadsColumns for $object {
            const FIELDS: Option<$crate::graphql::FieldColumns> =
                Some($crate::graphql::FieldColumns {
                    plain: &[$(stringify!($field)),*],
                    references: &[$($((stringify!($reference), stringify!($column)),)*)?],
                    children: &[$($(stringify!($children),)*)?],
                });
        }

        // async-graphql's resolver of the object's fields: what the schema declares, and what
        // resolves the fields that are not plain (`graphql::plain`).
        const _: () = {
            pub struct $object<'a>(&'a $row);

            #[async_graphql::Object]
            impl $object<'_> {
                pub async fn id(&self) -> async_graphql::ID {
                    $crate::graphql::NodeKind::$kind.id(self.0.id)
                }
                $(
                    $(#[$field_meta])*
                    async fn $field(&self) -> $ty {
                        $crate::graphql::IntoField::into_field(&self.0.$field)
                    }
                )*
                $($(
                    $(#[$ref_meta])*
                    async fn $reference(
                        &self,
                        ctx: &async_graphql::Context<'_>,
                    ) -> async_graphql::Result<Option<$target>> {
                        const VIA: u8 = $crate::object!(@via $($via)?);
                        $crate::graphql::related::<$target, VIA>(ctx, self.0.$column).await
                    }
                )*)?
                $($(
                    $(#[$child_meta])*
                    #[graphql(complexity = "crate::graphql::page_cost(first, None, child_complexity)")]
                    async fn $children(
                        &self,
                        ctx: &async_graphql::Context<'_>,
                        first: Option<i32>,
                        after: Option<String>,
                        $(filter: Option<$filter>,)?
                    ) -> async_graphql::Result<$crate::graphql::Page<$child>> {
                        let only = 0 $(| <$filter as $crate::graphql::NarrowChildren>::only(
                            filter.unwrap_or_default(),
                        ))?;
                        let page = (first, after);
                        $crate::graphql::child_page::<$relation, _>(ctx, self.0.id, page, only, $child)
                            .await
                    }
                )*)?
                $($($resolvers)*)?
            }

            const GETTERS: &[fn(&$row) -> Option<async_graphql::Value>] = &[
                |row| {
                    $crate::graphql::PlainValue::plain_value($crate::graphql::NodeKind::$kind.id(row.id))
                },
                $(|row| {
                    let value: $ty = $crate::graphql::IntoField::into_field(&row.$field);
                    $crate::graphql::PlainValue::plain_value(value)
                }),*
            ];
            static PLAIN: $crate::graphql::LazyPlainFields<$row> = std::sync::LazyLock::new(|| {
                $crate::graphql::PlainFields::new(
                    stringify!($object),
                    &[$(stringify!($field)),*],
                    GETTERS,
                    &[$($((
                        stringify!($reference),
                        |ctx, field, row| {
                            const VIA: u8 = $crate::object!(@via $($via)?);
                            $crate::graphql::related_now::<$target, VIA>(ctx, field, row.$column)
                        },
                    ),)*)?],
                )
            });

            impl $crate::graphql::PlainObject for self::$object {
                fn resolve_now(
                    ctx: &async_graphql::ContextSelectionSet<'_>,
                    row: &$row,
                ) -> Option<async_graphql::Value> {
                    $crate::graphql::resolve_now(ctx, row, &PLAIN, &$object(row))
                }
            }

            impl async_graphql::OutputType for self::$object {
                fn type_name() -> std::borrow::Cow<'static, str> {
                    <$object<'static> as async_graphql::OutputType>::type_name()
                }

                fn create_type_info(registry: &mut async_graphql::registry::Registry) -> String {
                    <$object<'static> as async_graphql::OutputType>::create_type_info(registry)
                }

                async fn resolve(
                    &self,
                    ctx: &async_graphql::ContextSelectionSet<'_>,
                    _field: &async_graphql::Positioned<async_graphql::parser::types::Field>,
                ) -> async_graphql::ServerResult<async_graphql::Value> {
                    let fields = $object(&self.0);
                    $crate::graphql::resolve_object(ctx, &self.0, &PLAIN, &fields).await
                }
            }

            impl async_graphql::ContainerType for self::$object {
                async fn resolve_field(
                    &self,
                    ctx: &async_graphql::Context<'_>,
                ) -> async_graphql::ServerResult<Option<async_graphql::Value>> {
                    async_graphql::ContainerType::resolve_field(&$object(&self.0), ctx).await
                }
            }

            impl async_graphql::ObjectType for self::$object {}

            impl self::$object {
                /// The `Node` interface's `id`.
                pub async fn id(
                    &self,
                    _: &async_graphql::Context<'_>,
                ) -> async_graphql::Result<async_graphql::ID> {
                    Ok($crate::graphql::NodeKind::$kind.id(self.0.id))
                }
            }
        };
    };
    (@via) => { $crate::graphql::via::ANY };
    (@via $via:ident) => { $crate::graphql::via::$via };
}

/// A resource's top-level query fields, in sections (each optional); `access` is `member`
/// (anyone of the organization) or `admin` (OWNER and ADMIN):
/// - `lists { name: access Node(filter: Filter, order_by: Order = Field::Value Asc|Desc); }`:
///   connections with Relay's `first/after/last/before`, a [`ListFilter`] and an `orderings!`
///   order (with its default);
/// - `by_creation { name: access Node(Asc|Desc); }`: connections of a whole table by creation;
/// - `find { name: access Node; }`: one object by global `id`, or null;
/// - `extra { ... }`: fields written by hand (none with a `complexity`: macro hygiene hides
///   `child_complexity` from them; such a field goes in an object of its own, merged into the
///   root like this one).
#[macro_export]
macro_rules! queries {
    (
        $query:ident {
            $(lists { $(
                $(#[$list_meta:meta])*
                $list:ident : $list_access:ident $list_node:ident(
                    filter: $filter:ty,
                    order_by: $order:ident = $by:ident :: $value:ident $dir:ident $(,)?
                );
            )* })?
            $(by_creation { $(
                $(#[$created_meta:meta])*
                $created:ident : $created_access:ident $created_node:ident($created_dir:ident);
            )* })?
            $(find { $(
                $(#[$find_meta:meta])*
                $find:ident : $find_access:ident $find_node:ident;
            )* })?
            $(extra { $($extra:tt)* })?
        }
    ) => {
        #[derive(Default)]
        pub struct $query;

        #[async_graphql::Object]
        impl $query {
            $($(
                $(#[$list_meta])*
                #[graphql(complexity = "crate::graphql::page_cost(first, last, child_complexity)")]
                #[allow(clippy::too_many_arguments)] // Relay's four, the filter and the order
                async fn $list(
                    &self,
                    ctx: &async_graphql::Context<'_>,
                    first: Option<i32>,
                    after: Option<String>,
                    last: Option<i32>,
                    before: Option<String>,
                    filter: Option<$filter>,
                    order_by: Option<$order>,
                ) -> async_graphql::Result<$crate::graphql::Page<$list_node>> {
                    $crate::queries!(@access $list_access ctx);
                    let conditions =
                        $crate::graphql::ListFilter::conditions(filter.unwrap_or_default())?;
                    let args = $crate::graphql::PageArgs::new(first, after, last, before);
                    let sorted =
                        $order::or(order_by, $by::$value, $crate::graphql::OrderDirection::$dir);
                    $crate::graphql::list::<_, $list_node>(ctx, args, sorted, &conditions).await
                }
            )*)?
            $($(
                $(#[$created_meta])*
                #[graphql(complexity = "crate::graphql::page_cost(first, last, child_complexity)")]
                async fn $created(
                    &self,
                    ctx: &async_graphql::Context<'_>,
                    first: Option<i32>,
                    after: Option<String>,
                    last: Option<i32>,
                    before: Option<String>,
                ) -> async_graphql::Result<$crate::graphql::Page<$created_node>> {
                    $crate::queries!(@access $created_access ctx);
                    let args = $crate::graphql::PageArgs::new(first, after, last, before);
                    let descending = matches!(
                        $crate::graphql::OrderDirection::$created_dir,
                        $crate::graphql::OrderDirection::Desc
                    );
                    $crate::graphql::list_by_created::<$created_node>(ctx, descending, args).await
                }
            )*)?
            $($(
                $(#[$find_meta])*
                async fn $find(
                    &self,
                    ctx: &async_graphql::Context<'_>,
                    id: async_graphql::ID,
                ) -> async_graphql::Result<Option<$find_node>> {
                    $crate::queries!(@access $find_access ctx);
                    $crate::graphql::find::<$find_node>(ctx, &id).await
                }
            )*)?
            $($($extra)*)?
        }
    };
    (@access member $ctx:ident) => {
        $crate::graphql::ContextExt::principal($ctx)?;
    };
    (@access admin $ctx:ident) => {
        $crate::graphql::ContextExt::admin($ctx)?;
    };
}

/// A resource's mutations: each takes one `input`, acts through a service with the acting
/// user (`member`: any writer; `manager`: MANAGER and above; `admin`: OWNER and ADMIN) and
/// returns its payload, made `From`
/// what the service returns.
///
/// ```ignore
/// crate::mutations! {
///     CompanyMutation;
///     create_company(input: CreateCompanyInput) -> CompanyPayload,
///         member |acting, ctx| service::create(&acting, input);
/// }
/// ```
#[macro_export]
macro_rules! mutations {
    (
        $mutation:ident;
        $(
            $(#[$meta:meta])*
            $name:ident($input:ident : $input_ty:ty) -> $payload:ty,
                $access:ident |$acting:ident, $ctx:ident| $body:expr;
        )+
    ) => {
        #[derive(Default)]
        pub struct $mutation;

        #[async_graphql::Object]
        impl $mutation {
            $(
                $(#[$meta])*
                async fn $name(
                    &self,
                    $ctx: &async_graphql::Context<'_>,
                    $input: $input_ty,
                ) -> async_graphql::Result<$payload> {
                    let $acting = $crate::mutations!(@acting $access $ctx)?;
                    Ok(<$payload>::from($body.await?))
                }
            )+
        }
    };
    (@acting member $ctx:ident) => {
        $crate::graphql::ContextExt::acting($ctx)
    };
    (@acting manager $ctx:ident) => {
        $crate::graphql::ContextExt::acting_manager($ctx)
    };
    (@acting admin $ctx:ident) => {
        $crate::graphql::ContextExt::acting_admin($ctx)
    };
}

/// Mutation payloads: `Payload { field: Node }` holds the object a service returned (made from
/// its row); `Payload { field: id of Node }` holds the global id of a row a service deleted.
#[macro_export]
macro_rules! payloads {
    ($( $(#[$meta:meta])* $payload:ident { $(#[$field_meta:meta])* $field:ident : $($shape:tt)+ } )+) => {
        $( $crate::payloads!(@one [$(#[$meta])*] $payload [$(#[$field_meta])*] $field $($shape)+); )+
    };
    (@one [$($meta:tt)*] $payload:ident [$($field_meta:tt)*] $field:ident id of $node:ty) => {
        $($meta)*
        #[derive(async_graphql::SimpleObject)]
        pub struct $payload {
            $($field_meta)*
            pub $field: async_graphql::ID,
        }

        impl From<uuid::Uuid> for $payload {
            fn from(id: uuid::Uuid) -> Self {
                Self {
                    $field: <$node as $crate::graphql::NodeObject>::KIND.id(id),
                }
            }
        }
    };
    (@one [$($meta:tt)*] $payload:ident [$($field_meta:tt)*] $field:ident $node:ty) => {
        $($meta)*
        #[derive(async_graphql::SimpleObject)]
        pub struct $payload {
            $($field_meta)*
            pub $field: $node,
        }

        impl From<<$node as $crate::graphql::NodeObject>::Row> for $payload {
            fn from(row: <$node as $crate::graphql::NodeObject>::Row) -> Self {
                Self {
                    $field: <$node as $crate::graphql::NodeObject>::new(row),
                }
            }
        }
    };
}
