//! Root mutation fields of a request run one after another in its one transaction. A statement
//! that fails inside one of them (a constraint the client's input breaks, a row deleted
//! meanwhile, a timeout) aborts the PostgreSQL transaction, and every later field would then
//! fail with "current transaction is aborted": reported as INTERNAL, though nothing is wrong but
//! the earlier field's input. So when an operation has several root mutation fields, each runs
//! in a savepoint: a field that fails is rolled back to it, and the next field runs, and
//! reports, on its own. The request stays all or nothing: any error rolls the whole
//! transaction back (`http::finish`). A lone mutation field needs no savepoint and gets none.

use std::sync::{
    Arc,
    atomic::{AtomicBool, Ordering},
};

use async_graphql::{
    ServerResult, Value, Variables,
    extensions::{
        Extension, ExtensionContext, ExtensionFactory, NextParseQuery, NextResolve, ResolveInfo,
    },
    parser::types::{ExecutableDocument, OperationType, Selection},
};
use sea_orm::ConnectionTrait;

use super::{RequestContext, RequestTx};

/// Registered on the schema; one [`PerRequest`] state per request.
pub struct MutationSavepoints;

impl ExtensionFactory for MutationSavepoints {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(PerRequest::default())
    }
}

#[derive(Default)]
struct PerRequest {
    /// A mutation of the document has more than one root field (or root fragments).
    several: AtomicBool,
}

/// Whether a mutation of `document` may run more than one root field.
fn several_root_mutation_fields(document: &ExecutableDocument) -> bool {
    document.operations.iter().any(|(_, operation)| {
        let items = &operation.node.selection_set.node.items;
        operation.node.ty == OperationType::Mutation
            && (items.len() > 1
                || items
                    .iter()
                    .any(|item| !matches!(item.node, Selection::Field(_))))
    })
}

const SAVEPOINT: &str = "SAVEPOINT mutation_field";
const RELEASE: &str = "RELEASE SAVEPOINT mutation_field";
const ROLLBACK: &str = "ROLLBACK TO SAVEPOINT mutation_field";

#[async_trait::async_trait]
impl Extension for PerRequest {
    async fn parse_query(
        &self,
        ctx: &ExtensionContext<'_>,
        query: &str,
        variables: &Variables,
        next: NextParseQuery<'_>,
    ) -> ServerResult<ExecutableDocument> {
        let document = next.run(ctx, query, variables).await?;
        self.several
            .store(several_root_mutation_fields(&document), Ordering::Relaxed);
        Ok(document)
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let root_mutation = info.path_node.parent.is_none()
            && ctx.schema_env.registry.mutation_type.as_deref() == Some(info.parent_type);
        if !root_mutation || !self.several.load(Ordering::Relaxed) {
            return next.run(ctx, info).await;
        }
        let tx = match ctx.data_opt::<RequestContext>().map(|c| &c.tx) {
            Some(RequestTx::Request(tx)) => tx.get(),
            _ => None,
        };
        let Some(tx) = tx.map(|tx| tx.conn()) else {
            // A sign-in opens its transaction itself, and is always alone.
            return next.run(ctx, info).await;
        };
        if tx.execute_unprepared(SAVEPOINT).await.is_err() {
            // The connection is gone: the field fails with its own error.
            return next.run(ctx, info).await;
        }
        let result = next.run(ctx, info).await;
        // A field may fail in a nested resolver without failing itself: RELEASE then fails
        // too, as the transaction is aborted, and the savepoint is rolled back to.
        let released = result.is_ok() && tx.execute_unprepared(RELEASE).await.is_ok();
        if !released {
            // Ignored failures: the connection is gone, and the request fails anyway.
            let _ = tx.execute_unprepared(ROLLBACK).await;
            let _ = tx.execute_unprepared(RELEASE).await;
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;

    use super::*;

    fn several(query: &str) -> bool {
        several_root_mutation_fields(&parse_query(query).unwrap())
    }

    #[test]
    fn only_mutations_of_several_root_fields_need_savepoints() {
        assert!(!several("mutation { logout { success } }"));
        assert!(!several("{ a: me { id } b: me { id } }"));
        assert!(several(
            "mutation { a: logout { success } b: logout { success } }"
        ));
        assert!(several(
            "mutation { ...F } fragment F on Mutation { logout { success } }"
        ));
    }
}
