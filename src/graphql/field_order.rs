//! Response fields in the order the query asked for them (GraphQL spec, "Serialization
//! Format": the order of CollectFields). async-graphql resolves a selection's fields
//! concurrently and keeps them in the order they finish (async-graphql#612), so each response
//! is put back in order after execution, from the operation's selections.

use async_graphql::{
    Name, Value,
    indexmap::IndexMap,
    parser::types::{ExecutableDocument, Selection, SelectionSet},
};

/// The response keys of a selection in the order they first appear (fragments expanded), each
/// with the order of its own sub-selection (merged over every field with that key).
#[derive(Debug, Default, PartialEq)]
pub struct FieldOrder(IndexMap<Name, FieldOrder>);

impl FieldOrder {
    /// The order of `selection_set` in `document`. The document guard has already refused
    /// fragment cycles and bounded the expansion, so this walk is bounded too.
    pub fn of(document: &ExecutableDocument, selection_set: &SelectionSet) -> Self {
        let mut order = Self::default();
        order.collect(document, selection_set);
        order
    }

    fn collect(&mut self, document: &ExecutableDocument, set: &SelectionSet) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => {
                    let key = field.node.response_key().node.clone();
                    self.0
                        .entry(key)
                        .or_default()
                        .collect(document, &field.node.selection_set.node);
                }
                Selection::InlineFragment(inline) => {
                    self.collect(document, &inline.node.selection_set.node)
                }
                Selection::FragmentSpread(spread) => {
                    if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node)
                    {
                        self.collect(document, &fragment.node.selection_set.node);
                    }
                }
            }
        }
    }

    /// Puts `value`'s objects (through lists) in this order; keys the query did not name
    /// (none, in practice) keep their place after the named ones.
    pub fn apply(&self, value: &mut Value) {
        match value {
            Value::Object(fields) => {
                if self.0.is_empty() {
                    return;
                }
                // Usually the keys already follow the query: one forward walk over both finds
                // each key's order without hashing it.
                let mut at = 0;
                for (key, field) in fields.iter_mut() {
                    let next = (at..self.0.len()).find(|&i| self.0.get_index(i).unwrap().0 == key);
                    let Some(next) = next else {
                        return self.sort(fields);
                    };
                    at = next;
                    self.0[at].apply(field);
                }
            }
            Value::List(items) => items.iter_mut().for_each(|item| self.apply(item)),
            _ => {}
        }
    }

    /// Puts `fields` in this order (and everything under them, again where already done).
    fn sort(&self, fields: &mut IndexMap<Name, Value>) {
        let position = |key: &Name| self.0.get_index_of(key).unwrap_or(usize::MAX);
        fields.sort_by_cached_key(|key, _| position(key));
        for (key, field) in fields.iter_mut() {
            if let Some(order) = self.0.get(key) {
                order.apply(field);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::{parser::parse_query, value};

    use super::*;

    fn order_of(query: &str) -> FieldOrder {
        let document = parse_query(query).unwrap();
        let operation = document.operations.iter().next().unwrap().1;
        FieldOrder::of(&document, &operation.node.selection_set.node)
    }

    #[test]
    fn objects_and_lists_of_objects_follow_the_query() {
        let order = order_of("{ b: leads { nodes { z a } total } a { y x } }");
        let mut data = value!({
            "a": { "x": 1, "y": 2 },
            "b": { "total": 2, "nodes": [{ "a": 1, "z": 2 }, { "a": 3, "z": 4 }] },
        });
        order.apply(&mut data);
        assert_eq!(
            serde_json::to_string(&data).unwrap(),
            r#"{"b":{"nodes":[{"z":2,"a":1},{"z":4,"a":3}],"total":2},"a":{"y":2,"x":1}}"#
        );
    }

    #[test]
    fn fragments_count_where_they_are_spread_and_repeated_keys_where_first_seen() {
        let order = order_of(
            "query { me { ...who id } me { role } } fragment who on User { email ... on User { name } }",
        );
        let mut data = value!({ "me": { "role": "A", "id": "1", "name": "n", "email": "e" } });
        order.apply(&mut data);
        assert_eq!(
            serde_json::to_string(&data).unwrap(),
            r#"{"me":{"email":"e","name":"n","id":"1","role":"A"}}"#
        );
    }
}
