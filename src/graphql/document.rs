//! The document guard: every GraphQL document (over POST, GET and WebSocket) passes through
//! here **before** anything recursive runs on it. async-graphql's parser, validation and
//! execution recurse over nesting of values, lists, selections and fragment spreads; a
//! document nested a few thousand levels deep overflows the stack and aborts the process, and
//! fragments that spread each other twice per level expand exponentially. So:
//!
//! 1. a linear, non-recursive scan bounds bracket nesting (`{`, `[`, `(`) before parsing;
//! 2. the document is parsed once (the parsed document is handed to the executor);
//! 3. fragment spreads are resolved with memoisation: cycles, spread chains, the expanded
//!    field count, the depth (introspection excluded, so GraphiQL's schema query works) and
//!    aliases are all bounded before validation walks the document;
//! 4. the operation is chosen exactly as the executor will choose it, and its root fields
//!    named, so transport rules (no mutation over GET, credential fields alone) decide on the
//!    same operation that runs;
//! 5. strings containing NUL (which PostgreSQL cannot store) are refused naming the argument.
//!
//! Dashboards send the same few documents all day: a document that passed is kept
//! ([`Documents`]), and the next request with the same text and operation name skips steps 1–4
//! (variables are still checked every time).

use std::{
    collections::{HashMap, VecDeque},
    ops::Deref,
    sync::{Arc, Mutex},
};

use async_graphql::{
    Name, Positioned, Variables,
    parser::{
        parse_query,
        types::{
            DocumentOperations, ExecutableDocument, Field, OperationDefinition, OperationType,
            Selection, SelectionSet,
        },
    },
};
use async_graphql_value::{ConstValue, Value};

use super::field_order::FieldOrder;
use crate::{config::Limits, error::ApiError};

/// Bracket nesting any legitimate document stays far below (selections are limited to
/// `LIMIT_QUERY_DEPTH`, and the standard introspection query nests about 20), and that the
/// parser handles with a small fraction of a worker thread's stack.
pub const MAX_NESTING: usize = 64;

/// Fragment spreads within spreads: as async-graphql's own recursion limit.
const MAX_SPREAD_CHAIN: usize = 32;

/// Fields selected once every fragment is expanded: bounds validation's work whatever the
/// fragments do (the standard introspection query expands to about 250).
pub const MAX_EXPANDED_FIELDS: usize = 5_000;

/// Root fields that hand out credentials: each runs its own short database work (and
/// argon2) instead of a request transaction, so it must be the only field of its operation.
pub const CREDENTIAL_FIELDS: [&str; 3] = ["login", "signUp", "refreshSession"];

/// Root fields that set a password, each with the argument and the key in it that hold the
/// password: a request hashes them before its transaction opens (`auth::HashedPasswords`).
const PASSWORD_FIELDS: [(&str, &str, &str); 1] = [("createUser", "input", "password")];

/// Root fields that only describe the schema.
const INTROSPECTION_FIELDS: [&str; 3] = ["__schema", "__type", "__typename"];

/// A document that passed the guard, with the facts transport rules need; shared by every
/// request that sends it.
pub struct Checked(Arc<CheckedDocument>);

impl Deref for Checked {
    type Target = CheckedDocument;

    fn deref(&self) -> &CheckedDocument {
        &self.0
    }
}

pub struct CheckedDocument {
    pub document: ExecutableDocument,
    /// The type of the operation that will run.
    pub operation: OperationType,
    /// Its name, when it has one.
    pub operation_name: Option<String>,
    /// Names (not aliases) of the operation's root fields, through root-level fragments.
    pub root_fields: Vec<Name>,
    /// The order the response's fields must come in.
    pub order: Arc<FieldOrder>,
    /// Arguments of root fields that set a password, as written (variables unresolved), each
    /// with the key of the password in it.
    password_arguments: Vec<(Value, &'static str)>,
    /// The operation's variables' default values.
    variable_defaults: Vec<(Name, ConstValue)>,
}

impl CheckedDocument {
    /// The operation hands out credentials (`login`, `signUp`, `refreshSession`).
    pub fn is_credential_operation(&self) -> bool {
        self.root_fields
            .iter()
            .any(|f| CREDENTIAL_FIELDS.contains(&f.as_str()))
    }

    /// The passwords the operation sets, with `variables` (or their defaults) put in.
    pub fn passwords_set(&self, variables: &Variables) -> Vec<String> {
        let value_of = |name: Name| {
            (variables.get(&name))
                .or_else(|| {
                    self.variable_defaults
                        .iter()
                        .find(|(n, _)| *n == name)
                        .map(|(_, v)| v)
                })
                .cloned()
                .ok_or(())
        };
        (self.password_arguments.iter())
            .filter_map(
                |(argument, key)| match argument.clone().into_const_with(value_of) {
                    Ok(ConstValue::Object(fields)) => match fields.get(*key) {
                        Some(ConstValue::String(password)) => Some(password.clone()),
                        _ => None,
                    },
                    _ => None,
                },
            )
            .collect()
    }

    /// The operation only reads the schema (or `__typename`).
    pub fn is_introspection_only(&self) -> bool {
        self.root_fields
            .iter()
            .all(|f| INTROSPECTION_FIELDS.contains(&f.as_str()))
    }
}

impl Checked {
    /// Hands the parsed document to the executor (a copy: the executor takes it apart), so it
    /// is not parsed again; the order its responses are to be put in stays with the caller.
    pub fn into_request(
        self,
        mut request: async_graphql::Request,
    ) -> (async_graphql::Request, Arc<FieldOrder>) {
        request.set_parsed_query(self.0.document.clone());
        (request, self.0.order.clone())
    }
}

/// Documents kept at most, and the longest text kept: a client sending ever new documents
/// churns the cache but cannot grow it past about 8 MiB of text.
const DOCUMENTS_KEPT: usize = 512;
const LONGEST_KEPT: usize = 16 * 1024;

/// The documents that passed the guard lately, by text and operation name (at most
/// [`DOCUMENTS_KEPT`], the oldest dropped first). The limits they were checked against are
/// the server's, which do not change while it runs.
#[derive(Default)]
pub struct Documents {
    kept: Mutex<Kept>,
}

type DocumentKey = (Box<str>, Option<Box<str>>);

#[derive(Default)]
struct Kept {
    by_key: HashMap<DocumentKey, Arc<CheckedDocument>>,
    oldest_first: VecDeque<DocumentKey>,
}

impl Documents {
    /// [`check`], skipping the document's checks when the same document passed them lately.
    pub fn check(
        &self,
        query: &str,
        operation_name: Option<&str>,
        variables: &Variables,
        limits: &Limits,
    ) -> Result<Checked, ApiError> {
        let key: DocumentKey = (query.into(), operation_name.map(Into::into));
        let kept = self
            .kept
            .lock()
            .expect("documents")
            .by_key
            .get(&key)
            .cloned();
        if let Some(document) = kept {
            refuse_nul_in_variables(variables)?;
            return Ok(Checked(document));
        }
        let checked = check(query, operation_name, variables, limits)?;
        if query.len() <= LONGEST_KEPT {
            let mut kept = self.kept.lock().expect("documents");
            if kept.by_key.insert(key.clone(), checked.0.clone()).is_none() {
                kept.oldest_first.push_back(key);
            }
            while kept.oldest_first.len() > DOCUMENTS_KEPT {
                if let Some(oldest) = kept.oldest_first.pop_front() {
                    kept.by_key.remove(&oldest);
                }
            }
        }
        Ok(checked)
    }
}

/// Checks `query` (and `variables`) against `limits` and chooses the operation as the
/// executor will.
pub fn check(
    query: &str,
    operation_name: Option<&str>,
    variables: &Variables,
    limits: &Limits,
) -> Result<Checked, ApiError> {
    if nesting(query) > MAX_NESTING {
        return Err(ApiError::Limit(format!(
            "the document nests deeper than {MAX_NESTING} levels"
        )));
    }
    let document = parse_query(query).map_err(|err| ApiError::Parse(err.to_string()))?;
    let mut expansion = Expansion::of(&document)?;
    let (name, operation) = choose_operation(&document, operation_name)?;
    let operation_name = name.map(|name| name.to_string());
    let shape = expansion.shape(&operation.node.selection_set.node, &mut Vec::new())?;
    if shape.fields > MAX_EXPANDED_FIELDS {
        return Err(ApiError::Limit(format!(
            "the query selects more than {MAX_EXPANDED_FIELDS} fields once its fragments are expanded"
        )));
    }
    if shape.depth > limits.max_depth {
        return Err(ApiError::Limit(format!(
            "the query is nested too deep (more than {} levels)",
            limits.max_depth
        )));
    }
    if shape.aliases > limits.max_aliases {
        return Err(ApiError::Limit(format!(
            "the query uses more than {} aliases",
            limits.max_aliases
        )));
    }
    refuse_nul_in_document(&document)?;
    refuse_nul_in_variables(variables)?;
    let mut fields = Vec::new();
    collect_root_fields(
        &document,
        &operation.node.selection_set.node,
        &mut fields,
        0,
    );
    let root_fields: Vec<Name> = fields.iter().map(|f| f.name.node.clone()).collect();
    let password_arguments = (fields.iter())
        .filter_map(|field| {
            let (_, argument, key) = PASSWORD_FIELDS
                .iter()
                .find(|(name, ..)| field.name.node == *name)?;
            Some((field.get_argument(argument)?.node.clone(), *key))
        })
        .collect();
    let variable_defaults = (operation.node.variable_definitions.iter())
        .filter_map(|definition| {
            let default = definition.node.default_value.as_ref()?;
            Some((definition.node.name.node.clone(), default.node.clone()))
        })
        .collect();
    let credential_fields = root_fields
        .iter()
        .filter(|f| CREDENTIAL_FIELDS.contains(&f.as_str()))
        .count();
    let others = root_fields
        .iter()
        .filter(|f| !CREDENTIAL_FIELDS.contains(&f.as_str()) && f.as_str() != "__typename")
        .count();
    if credential_fields > 1 || (credential_fields == 1 && others > 0) {
        return Err(ApiError::bad_input(
            "query",
            "login, signUp and refreshSession must each be the only field of their request",
        ));
    }
    let order = Arc::new(FieldOrder::of(
        &document,
        &operation.node.selection_set.node,
    ));
    let operation = operation.node.ty;
    Ok(Checked(Arc::new(CheckedDocument {
        document,
        operation,
        operation_name,
        root_fields,
        order,
        password_arguments,
        variable_defaults,
    })))
}

/// The deepest bracket nesting in `query`, outside strings and comments; linear, no recursion.
fn nesting(query: &str) -> usize {
    let bytes = query.as_bytes();
    let (mut depth, mut deepest, mut i) = (0usize, 0usize, 0usize);
    while i < bytes.len() {
        match bytes[i] {
            b'{' | b'[' | b'(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            _ => {}
        }
        i += 1;
    }
    deepest
}

/// The operation the executor runs: by name when one is given, else the only one.
/// The operation that will run, with its name (none for an anonymous one).
fn choose_operation<'a>(
    document: &'a ExecutableDocument,
    operation_name: Option<&str>,
) -> Result<(Option<&'a Name>, &'a Positioned<OperationDefinition>), ApiError> {
    match (&document.operations, operation_name) {
        (DocumentOperations::Single(op), None) => Ok((None, op)),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            let (name, op) = ops.iter().next().expect("one operation");
            Ok((Some(name), op))
        }
        (DocumentOperations::Multiple(_), None) => Err(ApiError::Invalid(
            "the document has several operations: name one with operationName".into(),
        )),
        (DocumentOperations::Single(_), Some(name)) => Err(ApiError::Invalid(format!(
            "unknown operation named {name:?}"
        ))),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .get_key_value(name)
            .map(|(name, op)| (Some(name), op))
            .ok_or_else(|| ApiError::Invalid(format!("unknown operation named {name:?}"))),
    }
}

/// What a selection set amounts to once its fragments are expanded.
#[derive(Clone, Copy, Default)]
struct Shape {
    fields: usize,
    depth: usize,
    aliases: usize,
}

impl Shape {
    fn add(self, other: Shape) -> Shape {
        Shape {
            fields: self.fields.saturating_add(other.fields),
            depth: self.depth.max(other.depth),
            aliases: self.aliases.saturating_add(other.aliases),
        }
    }
}

/// Every fragment's expanded shape, computed once each (so spreading a fragment twice per
/// level costs nothing extra to check), with cycles refused.
struct Expansion<'a> {
    document: &'a ExecutableDocument,
    fragments: HashMap<&'a str, Shape>,
}

impl<'a> Expansion<'a> {
    fn of(document: &'a ExecutableDocument) -> Result<Self, ApiError> {
        let mut expansion = Expansion {
            document,
            fragments: HashMap::new(),
        };
        for name in document.fragments.keys() {
            expansion.fragment(name.as_str(), &mut Vec::new())?;
        }
        Ok(expansion)
    }

    fn fragment(&mut self, name: &'a str, visiting: &mut Vec<&'a str>) -> Result<Shape, ApiError> {
        if let Some(shape) = self.fragments.get(name) {
            return Ok(*shape);
        }
        if visiting.contains(&name) {
            return Err(ApiError::Invalid(format!(
                "fragment {name:?} spreads itself"
            )));
        }
        if visiting.len() >= MAX_SPREAD_CHAIN {
            return Err(ApiError::Limit(format!(
                "fragment spreads are nested more than {MAX_SPREAD_CHAIN} deep"
            )));
        }
        let Some(definition) = self.document.fragments.get(name) else {
            // Validation reports unknown fragments.
            return Ok(Shape::default());
        };
        visiting.push(name);
        let shape = self.shape(&definition.node.selection_set.node, visiting)?;
        visiting.pop();
        self.fragments.insert(name, shape);
        Ok(shape)
    }

    /// The shape of a set; recursion is bounded by the nesting scan and the spread chain.
    fn shape(
        &mut self,
        set: &'a SelectionSet,
        visiting: &mut Vec<&'a str>,
    ) -> Result<Shape, ApiError> {
        let mut shape = Shape::default();
        for item in &set.items {
            let inner = match &item.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let mut below = self.shape(&field.selection_set.node, visiting)?;
                    if field.name.node.starts_with("__") {
                        // Introspection's own nesting (`ofType { ofType ... }`) is not the data
                        // depth the limit is about; its size still counts.
                        below.depth = 0;
                    }
                    Shape {
                        fields: below.fields.saturating_add(1),
                        depth: below.depth + 1,
                        aliases: below.aliases + usize::from(field.alias.is_some()),
                    }
                }
                Selection::InlineFragment(inline) => {
                    self.shape(&inline.node.selection_set.node, visiting)?
                }
                Selection::FragmentSpread(spread) => {
                    self.fragment(spread.node.fragment_name.node.as_str(), visiting)?
                }
            };
            shape = shape.add(inner);
        }
        Ok(shape)
    }
}

/// Root fields of a selection set, through fragments spread or inlined at the root.
fn collect_root_fields<'a>(
    document: &'a ExecutableDocument,
    set: &'a SelectionSet,
    out: &mut Vec<&'a Field>,
    chain: usize,
) {
    if chain > MAX_SPREAD_CHAIN {
        return;
    }
    for item in &set.items {
        match &item.node {
            Selection::Field(field) => out.push(&field.node),
            Selection::InlineFragment(inline) => {
                collect_root_fields(document, &inline.node.selection_set.node, out, chain + 1)
            }
            Selection::FragmentSpread(spread) => {
                if let Some(fragment) = document.fragments.get(&spread.node.fragment_name.node) {
                    collect_root_fields(
                        document,
                        &fragment.node.selection_set.node,
                        out,
                        chain + 1,
                    );
                }
            }
        }
    }
}

/// PostgreSQL text cannot hold NUL: refuse it where it enters, naming the argument.
fn refuse_nul_in_document(document: &ExecutableDocument) -> Result<(), ApiError> {
    fn value_has_nul(value: &Value) -> bool {
        match value {
            Value::String(s) => s.contains('\0'),
            Value::List(items) => items.iter().any(value_has_nul),
            Value::Object(fields) => fields
                .iter()
                .any(|(k, v)| k.contains('\0') || value_has_nul(v)),
            _ => false,
        }
    }
    fn in_set(set: &SelectionSet) -> Option<String> {
        for item in &set.items {
            let found = match &item.node {
                Selection::Field(field) => field
                    .node
                    .arguments
                    .iter()
                    .find(|(_, value)| value_has_nul(&value.node))
                    .map(|(name, _)| name.node.to_string())
                    .or_else(|| in_set(&field.node.selection_set.node)),
                Selection::InlineFragment(inline) => in_set(&inline.node.selection_set.node),
                Selection::FragmentSpread(_) => None,
            };
            if found.is_some() {
                return found;
            }
        }
        None
    }
    let sets = document
        .operations
        .iter()
        .map(|(_, op)| &op.node.selection_set.node)
        .chain(
            document
                .fragments
                .values()
                .map(|f| &f.node.selection_set.node),
        );
    for set in sets {
        if let Some(argument) = in_set(set) {
            return Err(nul_error(argument));
        }
    }
    Ok(())
}

fn refuse_nul_in_variables(variables: &Variables) -> Result<(), ApiError> {
    fn path_of_nul(value: &ConstValue, path: &mut String) -> bool {
        match value {
            ConstValue::String(s) => s.contains('\0'),
            ConstValue::List(items) => items.iter().enumerate().any(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = path_of_nul(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            ConstValue::Object(fields) => fields.iter().any(|(name, item)| {
                let len = path.len();
                path.push('.');
                path.push_str(name);
                let found = name.contains('\0') || path_of_nul(item, path);
                if !found {
                    path.truncate(len);
                }
                found
            }),
            _ => false,
        }
    }
    for (name, value) in variables.iter() {
        let mut path = format!("${name}");
        if path_of_nul(value, &mut path) {
            return Err(nul_error(path));
        }
    }
    Ok(())
}

fn nul_error(place: String) -> ApiError {
    ApiError::BadUserInput {
        field: None,
        message: format!("{place} contains a NUL character, which text cannot hold"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checked(query: &str, operation_name: Option<&str>) -> Result<Checked, ApiError> {
        check(
            query,
            operation_name,
            &Variables::default(),
            &Limits::default(),
        )
    }

    fn code(result: Result<Checked, ApiError>) -> &'static str {
        match result {
            Ok(_) => "OK",
            Err(err) => err.code(),
        }
    }

    #[test]
    fn a_document_that_passed_is_kept_and_its_variables_are_still_checked() {
        let documents = Documents::default();
        let limits = Limits::default();
        let query = "query($s: String) { leads(filter: { search: $s }) { nodes { id } } }";
        let first = documents.check(query, None, &Variables::default(), &limits);
        let again = documents.check(query, None, &Variables::default(), &limits);
        assert!(Arc::ptr_eq(&first.unwrap().0, &again.unwrap().0));
        let nul = Variables::from_json(serde_json::json!({ "s": "a\u{0}b" }));
        assert_eq!(
            code(documents.check(query, None, &nul, &limits)),
            "BAD_USER_INPUT"
        );
        // Another operation name is another document, and a refused one is never kept.
        let other = documents.check(query, Some("Other"), &Variables::default(), &limits);
        assert_eq!(code(other), "GRAPHQL_VALIDATION_FAILED");
        let deep = format!("{{ a {}", "{ a ".repeat(MAX_NESTING + 1));
        assert_ne!(
            code(documents.check(&deep, None, &Variables::default(), &limits)),
            "OK"
        );
        assert_eq!(documents.kept.lock().unwrap().by_key.len(), 1);
    }

    #[test]
    fn documents_kept_are_bounded_in_number_and_length() {
        let documents = Documents::default();
        let limits = Limits::default();
        for n in 0..DOCUMENTS_KEPT + 10 {
            let query = format!("{{ a{n}: __typename }}");
            documents
                .check(&query, None, &Variables::default(), &limits)
                .unwrap();
        }
        let long = format!("{{ __typename {} }}", " ".repeat(LONGEST_KEPT));
        documents
            .check(&long, None, &Variables::default(), &limits)
            .unwrap();
        let kept = documents.kept.lock().unwrap();
        assert_eq!(kept.by_key.len(), DOCUMENTS_KEPT);
        assert!(
            !kept
                .by_key
                .contains_key(&("{ a0: __typename }".into(), None))
        );
        assert!(
            !kept
                .by_key
                .keys()
                .any(|(query, _)| query.len() > LONGEST_KEPT)
        );
    }

    #[test]
    fn deep_nesting_of_every_kind_is_refused_before_parsing() {
        let n = 100_000;
        for (open, close) in [("{", "}"), ("[", "]"), ("(", ")")] {
            let query = format!(
                "{{ __typename(x: {}1{}) }}",
                open.repeat(n),
                close.repeat(n)
            );
            assert_eq!(code(checked(&query, None)), "LIMIT_EXCEEDED", "{open}");
        }
        let objects = format!("{{ __typename(x: {}1{}) }}", "{x:".repeat(n), "}".repeat(n));
        assert_eq!(code(checked(&objects, None)), "LIMIT_EXCEEDED");
        let selections = format!("{}{}", "{ a ".repeat(n), "}".repeat(n));
        assert_eq!(code(checked(&selections, None)), "LIMIT_EXCEEDED");
    }

    #[test]
    fn nesting_inside_strings_and_comments_is_not_counted() {
        let query = format!("{{ __typename # {}\n }} ", "{".repeat(1000));
        assert_eq!(code(checked(&query, None)), "OK");
        let query = format!(r#"{{ me(x: "{}") }}"#, "[".repeat(1000));
        assert_eq!(nesting(&query), 2);
        let query = format!(r#"{{ me(x: """{}\""" """) }}"#, "(".repeat(1000));
        assert_eq!(nesting(&query), 2);
    }

    #[test]
    fn nesting_at_the_bound_parses() {
        let query = format!(
            "{{ __typename(x: {}1{}) }}",
            "[".repeat(MAX_NESTING - 2),
            "]".repeat(MAX_NESTING - 2)
        );
        assert_eq!(code(checked(&query, None)), "OK");
    }

    #[test]
    fn exponential_fragments_are_refused_cheaply() {
        let mut query = String::from("{ ...F0 }");
        for i in 0..30 {
            query.push_str(&format!(
                " fragment F{i} on Query {{ ...F{next} ...F{next} }}",
                next = i + 1
            ));
        }
        query.push_str(" fragment F30 on Query { __typename }");
        assert_eq!(code(checked(&query, None)), "LIMIT_EXCEEDED");
    }

    #[test]
    fn fragment_cycles_and_long_chains_are_refused() {
        let cycle = "{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }";
        assert_eq!(code(checked(cycle, None)), "GRAPHQL_VALIDATION_FAILED");
        let mut chain = String::from("{ ...F0 }");
        for i in 0..10_000 {
            chain.push_str(&format!(" fragment F{i} on Query {{ ...F{} }}", i + 1));
        }
        assert_eq!(code(checked(&chain, None)), "LIMIT_EXCEEDED");
    }

    #[test]
    fn depth_counts_through_fragments_but_not_introspection() {
        let limits = Limits {
            max_depth: 3,
            ..Limits::default()
        };
        let deep = "{ a { ...F } } fragment F on A { b { c { d } } }";
        let result = check(deep, None, &Variables::default(), &limits);
        assert_eq!(code(result), "LIMIT_EXCEEDED");
        let introspection =
            "{ __schema { types { fields { type { ofType { ofType { ofType { name } } } } } } } }";
        let result = check(introspection, None, &Variables::default(), &limits);
        assert_eq!(code(result), "OK");
    }

    #[test]
    fn aliases_are_counted_everywhere() {
        let limits = Limits {
            max_aliases: 3,
            ..Limits::default()
        };
        let query =
            "query { a: me { id } b: me { x: id } ...F } fragment F on Query { c: me { id } }";
        let result = check(query, None, &Variables::default(), &limits);
        assert_eq!(code(result), "LIMIT_EXCEEDED");
    }

    #[test]
    fn the_operation_is_chosen_as_the_executor_chooses_it() {
        let one_named = checked("mutation M { logout { success } }", None).unwrap();
        assert_eq!(one_named.operation, OperationType::Mutation);
        let two = "query Q { me { id } } mutation M { logout { success } }";
        assert_eq!(
            checked(two, Some("M")).unwrap().operation,
            OperationType::Mutation
        );
        assert_eq!(
            checked(two, Some("Q")).unwrap().operation,
            OperationType::Query
        );
        assert_eq!(code(checked(two, None)), "GRAPHQL_VALIDATION_FAILED");
        assert_eq!(code(checked(two, Some("X"))), "GRAPHQL_VALIDATION_FAILED");
    }

    #[test]
    fn a_credential_field_stands_alone() {
        let two =
            "mutation { a: login(input: {}) { accessToken } b: login(input: {}) { accessToken } }";
        assert_eq!(code(checked(two, None)), "BAD_USER_INPUT");
        let mixed = "mutation { refreshSession(input: {}) { accessToken } logout { success } }";
        assert_eq!(code(checked(mixed, None)), "BAD_USER_INPUT");
        let spread = "mutation { ...A ...B } fragment A on Mutation { login(input: {}) { accessToken } } fragment B on Mutation { signUp(input: {}) { accessToken } }";
        assert_eq!(code(checked(spread, None)), "BAD_USER_INPUT");
        let alone = checked(
            "mutation { __typename login(input: {}) { accessToken } }",
            None,
        )
        .unwrap();
        assert!(alone.is_credential_operation());
    }

    #[test]
    fn nul_characters_are_refused_naming_where() {
        let err = checked(
            r#"{ leads(filter: { search: "a\u0000" }) { totalCount } }"#,
            None,
        )
        .err()
        .unwrap();
        assert_eq!(err.code(), "BAD_USER_INPUT");
        assert!(err.to_string().contains("filter"), "{err}");
        let variables =
            Variables::from_json(serde_json::json!({ "input": { "tags": ["ok", "b\u{0}"] } }));
        let err = check("{ __typename }", None, &variables, &Limits::default())
            .err()
            .unwrap();
        assert_eq!(
            err.to_string(),
            "$input.tags[1] contains a NUL character, which text cannot hold"
        );
    }
}
