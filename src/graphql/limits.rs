//! What async-graphql does not limit by itself: aliases per document. Also finds the
//! operation's type before execution (mutations are refused over GET and decide the
//! transaction's access mode).

use async_graphql::parser::{
    parse_query,
    types::{DocumentOperations, OperationType, Selection, SelectionSet},
};

pub struct Inspection {
    /// `None` when the operation named by `operationName` does not exist; execution then
    /// reports the error.
    pub operation: Option<OperationType>,
    pub aliases: usize,
}

/// `Err` when the document does not parse; execution then reports the parse error.
pub fn inspect(query: &str, operation_name: Option<&str>) -> Result<Inspection, ()> {
    let document = parse_query(query).map_err(|_| ())?;
    let operation = match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), _) => Some(op.node.ty),
        (DocumentOperations::Multiple(ops), Some(name)) => ops.get(name).map(|op| op.node.ty),
        (DocumentOperations::Multiple(_), None) => None,
    };
    let mut aliases = 0;
    for (_, op) in document.operations.iter() {
        aliases += count_aliases(&op.node.selection_set.node);
    }
    for fragment in document.fragments.values() {
        aliases += count_aliases(&fragment.node.selection_set.node);
    }
    Ok(Inspection { operation, aliases })
}

fn count_aliases(set: &SelectionSet) -> usize {
    set.items
        .iter()
        .map(|selection| match &selection.node {
            Selection::Field(field) => {
                usize::from(field.node.alias.is_some())
                    + count_aliases(&field.node.selection_set.node)
            }
            Selection::InlineFragment(fragment) => count_aliases(&fragment.node.selection_set.node),
            Selection::FragmentSpread(_) => 0,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_counted_everywhere() {
        let query =
            "query { a: me { id } b: me { x: id } ...F } fragment F on Query { c: me { id } }";
        assert_eq!(inspect(query, None).unwrap().aliases, 4);
    }

    #[test]
    fn the_named_operation_decides_the_type() {
        let query = "query Q { me { id } } mutation M { logout { success } }";
        assert_eq!(
            inspect(query, Some("M")).unwrap().operation,
            Some(OperationType::Mutation)
        );
        assert_eq!(
            inspect(query, Some("Q")).unwrap().operation,
            Some(OperationType::Query)
        );
        assert_eq!(inspect(query, None).unwrap().operation, None);
    }

    #[test]
    fn unparsable_documents_are_reported() {
        assert!(inspect("query {", None).is_err());
    }
}
