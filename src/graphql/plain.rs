//! Plain fields resolved without a future. async-graphql resolves every field of an object as
//! a boxed future in a `FuturesUnordered`, then inserts its value: for a page of 50 leads that
//! is some 1,500 futures, most of them for a column copied into a string. An `object!`
//! object's `id` and column getters ([`PlainFields`]) are instead read straight from the row
//! while the selection is walked; only the other fields (relations, pages, fields written by
//! hand) and any field that fails go through async-graphql's resolver, so their values and
//! errors are exactly as before. A to-one relation whose row was handed over with the page
//! (`joined`) is answered the same way, its object's fields read from that row, when every
//! field its selection reads is plain ([`resolve_now`]).
//!
//! Only queries and subscriptions take this path: their schemas carry no extension (a field
//! extension would not see plain fields). Mutations resolve as async-graphql does.

use std::{future::Future, pin::Pin, sync::LazyLock};

use async_graphql::{
    ContainerType, ContextSelectionSet, Json, Name, Positioned, ScalarType, ServerResult, Value,
    indexmap::{IndexMap, map::Entry},
    parser::types::{Field, OperationType, Selection},
    resolver_utils::resolve_container,
};
use chrono::{DateTime, NaiveDate, Utc};

/// A plain field's value as async-graphql would give it, or `None` when the getter failed (the
/// field then takes async-graphql's path, which reports the error).
pub trait PlainValue {
    fn plain_value(self) -> Option<Value>;
}

impl PlainValue for &str {
    fn plain_value(self) -> Option<Value> {
        Some(Value::String(self.to_owned()))
    }
}

impl PlainValue for async_graphql::ID {
    fn plain_value(self) -> Option<Value> {
        Some(Value::String(self.0))
    }
}

impl PlainValue for i32 {
    fn plain_value(self) -> Option<Value> {
        Some(Value::from(self))
    }
}

impl PlainValue for bool {
    fn plain_value(self) -> Option<Value> {
        Some(Value::Boolean(self))
    }
}

impl PlainValue for DateTime<Utc> {
    fn plain_value(self) -> Option<Value> {
        Some(ScalarType::to_value(&self))
    }
}

impl PlainValue for NaiveDate {
    fn plain_value(self) -> Option<Value> {
        Some(ScalarType::to_value(&self))
    }
}

impl PlainValue for &[String] {
    fn plain_value(self) -> Option<Value> {
        Some(Value::List(
            self.iter().map(|s| Value::String(s.clone())).collect(),
        ))
    }
}

impl PlainValue for Json<&serde_json::Value> {
    fn plain_value(self) -> Option<Value> {
        async_graphql::to_value(self.0).ok()
    }
}

impl<T: PlainValue> PlainValue for Option<T> {
    fn plain_value(self) -> Option<Value> {
        match self {
            Some(value) => value.plain_value(),
            None => Some(Value::Null),
        }
    }
}

impl<T: PlainValue> PlainValue for Vec<T> {
    fn plain_value(self) -> Option<Value> {
        self.into_iter()
            .map(PlainValue::plain_value)
            .collect::<Option<_>>()
            .map(Value::List)
    }
}

impl<T: PlainValue> PlainValue for async_graphql::Result<T> {
    fn plain_value(self) -> Option<Value> {
        self.ok()?.plain_value()
    }
}

/// A to-one relation's value now (given the object's selection, the relation's field and the
/// row), or `None` when it is resolved through async-graphql (see `graphql::related_now`).
pub type RelationNow<R> = fn(&ContextSelectionSet<'_>, &Positioned<Field>, &R) -> Option<Value>;

/// An `object!` object's plain fields: GraphQL name and getter, `id` first; and its to-one
/// relations, by GraphQL name.
pub struct PlainFields<R: 'static> {
    type_name: &'static str,
    names: Vec<String>,
    getters: &'static [fn(&R) -> Option<Value>],
    relations: Vec<(String, RelationNow<R>)>,
}

impl<R> PlainFields<R> {
    /// `columns` are the Rust names of the getters after `id`, named in GraphQL as
    /// async-graphql names them (camelCase). A name that missed would cost speed, not
    /// correctness: its field would take async-graphql's path.
    pub fn new(
        type_name: &'static str,
        columns: &[&str],
        getters: &'static [fn(&R) -> Option<Value>],
        relations: &[(&str, RelationNow<R>)],
    ) -> Self {
        let names = std::iter::once("id".to_owned())
            .chain(columns.iter().map(|column| camel_case(column)))
            .collect();
        Self {
            type_name,
            names,
            getters,
            relations: (relations.iter())
                .map(|(field, now)| (camel_case(field), *now))
                .collect(),
        }
    }

    /// Field `field`'s value now: a plain field's, or a to-one relation's answered now.
    fn value(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
        row: &R,
    ) -> Option<Value> {
        let name = field.node.name.node.as_str();
        if let Some(at) = self.names.iter().position(|plain| plain == name) {
            return (self.getters[at])(row);
        }
        let (_, now) = self
            .relations
            .iter()
            .find(|(relation, _)| relation == name)?;
        now(ctx, field, row)
    }
}

/// `first_name` → `firstName`, as async-graphql names fields.
pub(super) fn camel_case(snake: &str) -> String {
    let mut words = snake.split('_');
    let mut name = words.next().unwrap_or_default().to_owned();
    for word in words {
        let mut letters = word.chars();
        if let Some(first) = letters.next() {
            name.extend(first.to_uppercase());
            name.push_str(letters.as_str());
        }
    }
    name
}

/// Declared per object by `object!`.
pub type LazyPlainFields<R> = LazyLock<PlainFields<R>>;

type FieldFuture<'a> = Pin<Box<dyn Future<Output = ServerResult<(Name, Value)>> + Send + 'a>>;

/// Resolves the selection of `ctx` on `row`: plain fields read directly, the others through
/// `fields` (the object's async-graphql resolver), concurrently.
pub async fn resolve_object<'a, R: Sync, F: ContainerType>(
    ctx: &ContextSelectionSet<'a>,
    row: &R,
    plain: &PlainFields<R>,
    fields: &'a F,
) -> ServerResult<Value> {
    if ctx.query_env.operation.node.ty == OperationType::Mutation {
        return resolve_container(ctx, fields).await;
    }
    let mut values = IndexMap::with_capacity(ctx.item.node.items.len());
    let mut pending = Vec::new();
    if !collect(ctx, row, plain, fields, &mut values, &mut pending) {
        // A field carries a custom directive: async-graphql applies those.
        return resolve_container(ctx, fields).await;
    }
    for resolved in futures::future::join_all(pending).await {
        match resolved {
            Ok((name, value)) => merge(&mut values, name, value),
            Err(error) => ctx.add_error(error),
        }
    }
    Ok(if values.is_empty() {
        Value::Null
    } else {
        Value::Object(values)
    })
}

/// Resolves the selection of `ctx` on `row` without a future when every field it selects is
/// plain or a relation answered now; `None` otherwise (nothing is reported: async-graphql's
/// resolution then runs).
pub fn resolve_now<'a, R, F: ContainerType>(
    ctx: &ContextSelectionSet<'a>,
    row: &R,
    plain: &PlainFields<R>,
    fields: &'a F,
) -> Option<Value> {
    let mut values = IndexMap::with_capacity(ctx.item.node.items.len());
    let mut pending = Vec::new();
    if !collect(ctx, row, plain, fields, &mut values, &mut pending) || !pending.is_empty() {
        return None;
    }
    Some(if values.is_empty() {
        Value::Null
    } else {
        Value::Object(values)
    })
}

/// Walks `ctx`'s selection (fragments that apply expanded): plain values into `values`, the
/// other fields' resolutions into `pending`. False when a field has a directive.
fn collect<'a, R, F: ContainerType>(
    ctx: &ContextSelectionSet<'a>,
    row: &R,
    plain: &PlainFields<R>,
    fields: &'a F,
    values: &mut IndexMap<Name, Value>,
    pending: &mut Vec<FieldFuture<'a>>,
) -> bool {
    let mut fragments = Vec::new();
    for selection in &ctx.item.node.items {
        match &selection.node {
            Selection::Field(field) => {
                if !field.node.directives.is_empty() {
                    return false;
                }
                let key = field.node.response_key().node.clone();
                let value = if field.node.name.node == "__typename" {
                    Some(Value::String(plain.type_name.to_owned()))
                } else {
                    plain.value(ctx, field, row)
                };
                match value {
                    Some(value) => merge(values, key, value),
                    None => {
                        let ctx = ctx.clone();
                        pending.push(Box::pin(async move {
                            let ctx_field = ctx.with_field(field);
                            let value = fields.resolve_field(&ctx_field).await?;
                            Ok((key, value.unwrap_or_default()))
                        }));
                    }
                }
            }
            Selection::FragmentSpread(spread) => {
                let name = &spread.node.fragment_name.node;
                // Validation refuses unknown fragments before execution.
                let Some(fragment) = ctx.query_env.fragments.get(name) else {
                    continue;
                };
                let condition = &fragment.node.type_condition.node.on.node;
                fragments.push((Some(condition.as_str()), &fragment.node.selection_set));
            }
            Selection::InlineFragment(inline) => {
                let condition = inline.node.type_condition.as_ref();
                let condition = condition.map(|condition| condition.node.on.node.as_str());
                fragments.push((condition, &inline.node.selection_set));
            }
        }
    }
    for (condition, selection_set) in fragments {
        let ctx = ctx.with_selection_set(selection_set);
        if applies(&ctx, plain.type_name, condition)
            && !collect(&ctx, row, plain, fields, values, pending)
        {
            return false;
        }
    }
    true
}

/// Whether a fragment on `condition` applies to an object of type `type_name`: no condition,
/// the type itself or an interface it implements.
fn applies(ctx: &ContextSelectionSet<'_>, type_name: &str, condition: Option<&str>) -> bool {
    condition.is_none_or(|condition| {
        condition == type_name
            || ctx
                .schema_env
                .registry
                .implements
                .get(type_name)
                .is_some_and(|interfaces| interfaces.contains(condition))
    })
}

/// A field's value into the object: a key selected twice keeps its first value, and objects
/// (and lists of objects) under it are merged, as async-graphql merges them.
fn merge(target: &mut IndexMap<Name, Value>, name: Name, value: Value) {
    let existing = match target.entry(name) {
        Entry::Vacant(vacant) => {
            vacant.insert(value);
            return;
        }
        Entry::Occupied(occupied) => occupied.into_mut(),
    };
    match (existing, value) {
        (Value::Object(existing), Value::Object(object)) => {
            for (key, value) in object {
                merge(existing, key, value);
            }
        }
        (Value::List(existing), Value::List(list)) => {
            for (at, value) in list.into_iter().enumerate() {
                if let (Some(Value::Object(existing)), Value::Object(object)) =
                    (existing.get_mut(at), value)
                {
                    for (key, value) in object {
                        merge(existing, key, value);
                    }
                }
            }
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::camel_case;

    #[test]
    fn fields_are_named_as_async_graphql_names_them() {
        assert_eq!(camel_case("first_name"), "firstName");
        assert_eq!(camel_case("is_fortune500"), "isFortune500");
        assert_eq!(camel_case("score"), "score");
        assert_eq!(camel_case("probability_to_close"), "probabilityToClose");
    }
}
