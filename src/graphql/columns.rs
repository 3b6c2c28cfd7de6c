//! The columns a selection reads. Rows are decoded whole into their sea-orm models, and most
//! selections read a few of a table's columns: the dashboard reads 3 of an activity's 14, not
//! its JSONB `metadata` nor its `content`. A page sends every column no selected field reads as
//! a constant of its type instead, which PostgreSQL does not fetch; rows decoded by place
//! (`tenant_rows!` with `in columns`) skip it, and the field holds its type's default. Only
//! unselected fields hold such a placeholder. A selected field the declaration does not
//! know (one written by hand in `object!`'s `extra`) reads every column.

use async_graphql::SelectionField;
use sea_orm::{ColumnTrait, ColumnType, EntityTrait, IdenStatic, Iterable, ModelTrait};

/// An object over a row, and what its fields read: declared by `object!`; objects written by
/// hand read every column (the default).
pub trait ReadsColumns {
    const FIELDS: Option<FieldColumns> = None;
}

/// What an object's fields read (declared by `object!`).
pub struct FieldColumns {
    /// Fields that are the column of the same name.
    pub plain: &'static [&'static str],
    /// To-one relations: the field, and the column holding the reference.
    pub references: &'static [(&'static str, &'static str)],
    /// Has-many relations, which read the row's id.
    pub children: &'static [&'static str],
}

/// A set of a table's columns, by their place in its entity's column list.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Columns(u64);

impl Columns {
    pub const ALL: Self = Self(u64::MAX);
    pub const NONE: Self = Self(0);

    pub fn union(self, other: Self) -> Self {
        Self(self.0 | other.0)
    }

    /// Whether every column of this set is in `other`.
    pub fn within(self, other: Self) -> bool {
        self.0 & !other.0 == 0
    }

    /// The set without `M`'s columns named `names`.
    pub fn without<M: ModelTrait>(self, names: &[&str]) -> Self {
        let mut set = self.0;
        for (place, column) in <M::Entity as EntityTrait>::Column::iter().enumerate() {
            if place < 64 && names.contains(&column.as_str()) {
                set &= !(1 << place);
            }
        }
        Self(set)
    }

    /// Whether the column at `place` of its entity's column list is in the set.
    pub fn has(self, place: usize) -> bool {
        place >= 64 || self.0 & (1 << place) != 0
    }

    /// The columns of `M` that the fields selected on `nodes` read (`fields`: what the object's
    /// fields read, none when unknown), and `always`: what the page itself reads (its sort
    /// column, its parent column). The id, the organization and the creation time are always
    /// read: cursors and loaders use them.
    pub fn read_by<'a, M: ModelTrait>(
        fields: Option<&FieldColumns>,
        nodes: impl IntoIterator<Item = SelectionField<'a>>,
        always: &[&str],
    ) -> Self {
        let Some(fields) = fields else {
            return Self::ALL;
        };
        let mut wanted: Vec<&str> = vec!["id", "organization_id", "created_at"];
        wanted.extend_from_slice(always);
        for node in nodes {
            for field in node.selection_set() {
                let name = field.name();
                if name == "id" || name.starts_with("__") {
                    continue;
                }
                let name = snake_case(name);
                if let Some(column) = fields.plain.iter().find(|column| **column == name) {
                    wanted.push(column);
                } else if let Some((_, column)) =
                    fields.references.iter().find(|(field, _)| *field == name)
                {
                    wanted.push(column);
                } else if !fields.children.contains(&name.as_str()) {
                    return Self::ALL;
                }
            }
        }
        let mut set = 0;
        for (place, column) in <M::Entity as EntityTrait>::Column::iter().enumerate() {
            if place >= 64 {
                return Self::ALL;
            }
            if wanted.contains(&column.as_str()) {
                set |= 1 << place;
            }
        }
        Self(set)
    }

    /// The select list of `M`'s columns on table alias `alias`, in the model's order (never
    /// `*`, which is the table's: rows may be decoded by place): each column of the set as it
    /// is, every other one as a constant of its type under its name.
    pub fn select_list<M: ModelTrait>(self, alias: &str) -> String {
        let mut list = Vec::new();
        for (place, column) in <M::Entity as EntityTrait>::Column::iter().enumerate() {
            let name = column.as_str();
            match placeholder(&column) {
                Some(constant) if !self.has(place) => {
                    list.push(format!("{constant} AS \"{name}\""))
                }
                _ => list.push(format!("{alias}.{name}")),
            }
        }
        list.join(", ")
    }
}

/// Whether `fields` are `M`'s columns, all of them, in the model's order (what decoding by
/// place needs).
pub fn columns_in_order<M: ModelTrait>(fields: &[&str]) -> bool {
    <M::Entity as EntityTrait>::Column::iter()
        .map(|column| column.as_str().to_owned())
        .eq(fields.iter().map(|field| field.to_string()))
}

/// The objects a connection field selects: its `nodes`, and its `edges`' `node`s.
pub fn page_nodes(page: SelectionField<'_>) -> Vec<SelectionField<'_>> {
    let mut nodes = Vec::new();
    for field in page.selection_set() {
        match field.name() {
            "nodes" => nodes.push(field),
            "edges" => nodes.extend(field.selection_set().filter(|edge| edge.name() == "node")),
            _ => {}
        }
    }
    nodes
}

/// A constant the column's model field decodes from, when its type has one: a value of the
/// type even where the column is nullable, since sea-orm decodes a NULL by formatting an
/// error first (`{:?}` of the column's name), which cost more than the rest of the column; NULL
/// for a nullable column of another type.
fn placeholder(column: &impl ColumnTrait) -> Option<&'static str> {
    let def = column.def();
    typed_constant(def.get_column_type()).or(def.is_null().then_some("NULL"))
}

fn typed_constant(column_type: &ColumnType) -> Option<&'static str> {
    Some(match column_type {
        ColumnType::Text | ColumnType::String(_) | ColumnType::Char(_) => "''",
        ColumnType::Uuid => "'00000000-0000-0000-0000-000000000000'::uuid",
        ColumnType::JsonBinary => "'null'::jsonb",
        ColumnType::Json => "'null'::json",
        ColumnType::TimestampWithTimeZone => "'epoch'::timestamptz",
        ColumnType::Date => "'epoch'::date",
        ColumnType::Integer => "0",
        ColumnType::SmallInteger => "0::smallint",
        ColumnType::BigInteger => "0::bigint",
        ColumnType::Boolean => "false",
        ColumnType::Decimal(_) => "0::numeric",
        ColumnType::Array(inner) if matches!(**inner, ColumnType::Text | ColumnType::String(_)) => {
            "'{}'::text[]"
        }
        _ => return None,
    })
}

/// `firstName` → `first_name`: a field's name as its column's.
fn snake_case(camel: &str) -> String {
    let mut name = String::with_capacity(camel.len() + 4);
    for c in camel.chars() {
        if c.is_ascii_uppercase() {
            name.push('_');
            name.push(c.to_ascii_lowercase());
        } else {
            name.push(c);
        }
    }
    name
}

#[cfg(test)]
mod tests {
    use entity::activities;
    use sea_orm::Iterable;

    use super::*;

    #[test]
    fn field_names_become_column_names() {
        assert_eq!(snake_case("firstName"), "first_name");
        assert_eq!(snake_case("score"), "score");
        assert_eq!(snake_case("probabilityToClose"), "probability_to_close");
    }

    #[test]
    fn every_activity_column_not_read_is_a_constant_and_the_rest_are_read() {
        let read = ["id", "organization_id", "created_at", "kind"];
        let mut set = 0;
        for (place, column) in activities::Column::iter().enumerate() {
            if read.contains(&column.as_str()) {
                set |= 1 << place;
            }
        }
        let list = Columns(set).select_list::<activities::Model>("t");
        for column in activities::Column::iter() {
            let name = column.as_str();
            if read.contains(&name) {
                assert!(list.contains(&format!("t.{name}")), "{list}");
            } else {
                assert!(list.contains(&format!("AS \"{name}\"")), "{name}: {list}");
            }
        }
        let all = Columns::ALL.select_list::<activities::Model>("t");
        let names: Vec<String> = activities::Column::iter()
            .map(|column| format!("t.{}", column.as_str()))
            .collect();
        assert_eq!(all, names.join(", "));
    }
}
