//! A fuzz of the whole schema with credentials: every Query and Mutation field, with arguments
//! built from their introspected types (valid-looking, boundary, malformed, foreign, absent),
//! inline and as variables, over POST and GET, as the owner, a VIEWER and a READ API key (and
//! a few sign-ins without credentials). Nothing is hand-listed: fields, arguments, input types,
//! enums and scalars come from introspection, so new fields are fuzzed as soon as they exist.
//! About a third of the operations send only valid-looking values (ids of the right kind from
//! earlier answers, in-range numbers), so mutations get past validation and their later paths
//! run too; the rest send anything. Ids, cursors, e-mails and refresh tokens are learnt from
//! the answers as the fuzz goes.
//!
//! Every answer must be a non-5xx response whose errors all carry an `extensions.code`, none of
//! them INTERNAL; afterwards the server still serves and the other tenant's rows are unchanged.
//!
//! Deterministic for a seed: `FUZZ_SEED` (decimal or 0x-hex) and `FUZZ_OPERATIONS` override
//! the defaults, e.g. `FUZZ_SEED=7 FUZZ_OPERATIONS=20000 cargo test --test api fuzz`.

use std::collections::{BTreeMap, HashMap, HashSet};

use base64::{
    Engine,
    engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD},
};
use leadgraph::graphql::document::CREDENTIAL_FIELDS;
use serde_json::{Map, Value, json};
use uuid::Uuid;

use crate::support::{
    Tenant, TestApp,
    receiver::{Answer, Receiver},
    tenant::PASSWORD,
};

const DEFAULT_SEED: u64 = 0x00C0_FFEE_1EAD_2026;
const DEFAULT_OPERATIONS: usize = 2_500;
/// Distinct failures reproduced (and shrunk) in the report; the rest are only counted.
const MAX_REPORTED: usize = 12;

/// The other tenant's tables, compared before and after the fuzz.
const FOREIGN_TABLES: [&str; 12] = [
    "organizations",
    "users",
    "refresh_tokens",
    "api_keys",
    "audit_logs",
    "companies",
    "leads",
    "activities",
    "lead_notes",
    "events",
    "webhook_endpoints",
    "webhook_deliveries",
];

const INTROSPECTION: &str = "query Introspection {
  __schema {
    queryType { name }
    mutationType { name }
    types {
      kind name
      fields(includeDeprecated: true) { name args { name defaultValue type { ...Ref } } type { ...Ref } }
      inputFields { name defaultValue type { ...Ref } }
      enumValues(includeDeprecated: true) { name }
      possibleTypes { name }
    }
  }
}
fragment Ref on __Type {
  kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } }
}";

// ---------------------------------------------------------------------------------------------
// Deterministic randomness

/// xorshift64*: tiny, and the same sequence on every platform and crate version.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn range(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }

    /// True `percent` times out of 100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    fn uuid(&mut self) -> Uuid {
        Uuid::from_u64_pair(self.next(), self.next())
    }
}

// ---------------------------------------------------------------------------------------------
// The schema, as introspection describes it

#[derive(Clone, Debug)]
enum TypeRef {
    Named(String),
    List(Box<TypeRef>),
    NonNull(Box<TypeRef>),
}

impl TypeRef {
    fn parse(value: &Value) -> TypeRef {
        match value["kind"].as_str().unwrap() {
            "NON_NULL" => TypeRef::NonNull(Box::new(TypeRef::parse(&value["ofType"]))),
            "LIST" => TypeRef::List(Box::new(TypeRef::parse(&value["ofType"]))),
            _ => TypeRef::Named(value["name"].as_str().unwrap().to_owned()),
        }
    }

    fn named(&self) -> &str {
        match self {
            TypeRef::Named(name) => name,
            TypeRef::List(inner) | TypeRef::NonNull(inner) => inner.named(),
        }
    }

    fn render(&self) -> String {
        match self {
            TypeRef::Named(name) => name.clone(),
            TypeRef::List(inner) => format!("[{}]", inner.render()),
            TypeRef::NonNull(inner) => format!("{}!", inner.render()),
        }
    }
}

#[derive(Clone, Debug)]
struct InputDef {
    name: String,
    ty: TypeRef,
    has_default: bool,
}

impl InputDef {
    fn parse(value: &Value) -> InputDef {
        InputDef {
            name: value["name"].as_str().unwrap().to_owned(),
            ty: TypeRef::parse(&value["type"]),
            has_default: !value["defaultValue"].is_null(),
        }
    }

    fn required(&self) -> bool {
        matches!(self.ty, TypeRef::NonNull(_)) && !self.has_default
    }
}

#[derive(Clone, Debug)]
struct FieldDef {
    name: String,
    args: Vec<InputDef>,
    ty: TypeRef,
}

#[derive(Debug, Default)]
struct TypeDef {
    kind: String,
    fields: Vec<FieldDef>,
    input_fields: Vec<InputDef>,
    enum_values: Vec<String>,
    possible_types: Vec<String>,
}

struct Schema {
    types: HashMap<String, TypeDef>,
    query: String,
    mutation: Option<String>,
}

impl Schema {
    fn parse(data: &Value) -> Schema {
        let schema = &data["__schema"];
        let list = |value: &Value| value.as_array().cloned().unwrap_or_default();
        let types = list(&schema["types"])
            .iter()
            .map(|t| {
                let def = TypeDef {
                    kind: t["kind"].as_str().unwrap().to_owned(),
                    fields: list(&t["fields"])
                        .iter()
                        .map(|f| FieldDef {
                            name: f["name"].as_str().unwrap().to_owned(),
                            args: list(&f["args"]).iter().map(InputDef::parse).collect(),
                            ty: TypeRef::parse(&f["type"]),
                        })
                        .collect(),
                    input_fields: list(&t["inputFields"])
                        .iter()
                        .map(InputDef::parse)
                        .collect(),
                    enum_values: list(&t["enumValues"])
                        .iter()
                        .map(|v| v["name"].as_str().unwrap().to_owned())
                        .collect(),
                    possible_types: list(&t["possibleTypes"])
                        .iter()
                        .map(|v| v["name"].as_str().unwrap().to_owned())
                        .collect(),
                };
                (t["name"].as_str().unwrap().to_owned(), def)
            })
            .collect();
        Schema {
            types,
            query: schema["queryType"]["name"].as_str().unwrap().to_owned(),
            mutation: schema["mutationType"]["name"].as_str().map(str::to_owned),
        }
    }

    fn kind(&self, name: &str) -> &str {
        self.types.get(name).map_or("SCALAR", |t| t.kind.as_str())
    }

    fn is_leaf(&self, name: &str) -> bool {
        matches!(self.kind(name), "SCALAR" | "ENUM")
    }

    fn root_fields(&self, root: &str) -> &[FieldDef] {
        &self.types[root].fields
    }
}

// ---------------------------------------------------------------------------------------------
// Argument values, renderable inline or as variables

#[derive(Clone, Debug)]
enum Val {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    /// An enum value (bare inline, a string in variables); possibly not a valid one.
    Enum(String),
    List(Vec<Val>),
    Object(Vec<(String, Val)>),
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

impl Val {
    fn json(&self) -> Value {
        match self {
            Val::Null => Value::Null,
            Val::Bool(b) => json!(b),
            Val::Int(i) => json!(i),
            Val::Float(f) => json!(f),
            Val::Str(s) | Val::Enum(s) => json!(s),
            Val::List(items) => Value::Array(items.iter().map(Val::json).collect()),
            Val::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, v)| (k.clone(), v.json()))
                    .collect::<Map<_, _>>(),
            ),
        }
    }

    fn literal(&self) -> String {
        match self {
            Val::Null => "null".into(),
            Val::Bool(b) => b.to_string(),
            Val::Int(i) => i.to_string(),
            Val::Float(f) => format!("{f:?}"),
            Val::Str(s) => string_literal(s),
            Val::Enum(s) if is_name(s) && !matches!(s.as_str(), "true" | "false" | "null") => {
                s.clone()
            }
            Val::Enum(s) => string_literal(s),
            Val::List(items) => format!(
                "[{}]",
                items
                    .iter()
                    .map(Val::literal)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Val::Object(fields) => format!(
                "{{{}}}",
                fields
                    .iter()
                    .map(|(k, v)| {
                        let key = if is_name(k) { k.clone() } else { "k_".into() };
                        format!("{key}: {}", v.literal())
                    })
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
    }
}

/// A GraphQL string literal: JSON's escaping is valid GraphQL escaping.
fn string_literal(s: &str) -> String {
    serde_json::to_string(s).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Operations

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Caller {
    Owner,
    Viewer,
    ReadKey,
    /// No credentials: sign-ins run, everything else is refused.
    Anonymous,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum OperationName {
    /// The operation is anonymous.
    None,
    /// Named, and the name is sent as `operationName`.
    Sent,
    /// Named, but `operationName` is left out.
    Omitted,
    /// Named, and another name is sent.
    Wrong,
}

#[derive(Clone, Debug)]
struct Arg {
    name: String,
    /// The type a variable is declared with (sometimes not the argument's).
    declared: String,
    /// None: a variable declared but given no value.
    value: Option<Val>,
    inline: bool,
}

#[derive(Clone, Debug)]
struct Call {
    field: String,
    alias: Option<String>,
    args: Vec<Arg>,
    selection: String,
    minimal_selection: String,
}

#[derive(Clone, Debug)]
struct Operation {
    mutation: bool,
    name: OperationName,
    calls: Vec<Call>,
    get: bool,
    modern_accept: bool,
    caller: Caller,
    /// `variables` sent as something other than an object.
    odd_variables: Option<Value>,
}

struct Rendered {
    query: String,
    variables: Value,
    operation_name: Option<String>,
}

impl Operation {
    fn render(&self) -> Rendered {
        let mut declarations = Vec::new();
        let mut variables = Map::new();
        let mut body = String::new();
        for call in &self.calls {
            body.push_str("  ");
            if let Some(alias) = &call.alias {
                body.push_str(&format!("{alias}: "));
            }
            body.push_str(&call.field);
            let mut args = Vec::new();
            for arg in &call.args {
                if arg.inline {
                    let value = arg.value.as_ref().map_or("null".into(), Val::literal);
                    args.push(format!("{}: {value}", arg.name));
                } else {
                    let var = format!("v{}", declarations.len());
                    declarations.push(format!("${var}: {}", arg.declared));
                    if let Some(value) = &arg.value {
                        variables.insert(var.clone(), value.json());
                    }
                    args.push(format!("{}: ${var}", arg.name));
                }
            }
            if !args.is_empty() {
                body.push_str(&format!("({})", args.join(", ")));
            }
            if !call.selection.is_empty() {
                body.push_str(&format!(" {{ {} }}", call.selection));
            }
            body.push('\n');
        }
        let keyword = if self.mutation { "mutation" } else { "query" };
        let name = if self.name == OperationName::None {
            ""
        } else {
            " Fuzz"
        };
        let declarations = if declarations.is_empty() {
            String::new()
        } else {
            format!("({})", declarations.join(", "))
        };
        Rendered {
            query: format!("{keyword}{name}{declarations} {{\n{body}}}"),
            variables: self
                .odd_variables
                .clone()
                .unwrap_or(Value::Object(variables)),
            operation_name: match self.name {
                OperationName::Sent => Some("Fuzz".into()),
                OperationName::Wrong => Some("Other".into()),
                OperationName::None | OperationName::Omitted => None,
            },
        }
    }

    /// Root field names, to group failures.
    fn fields(&self) -> String {
        self.calls
            .iter()
            .map(|c| c.field.as_str())
            .collect::<Vec<_>>()
            .join("+")
    }
}

// ---------------------------------------------------------------------------------------------
// What the fuzzer knows about the tenants: ids, cursors, e-mails seen so far

#[derive(Default)]
struct Pools {
    own_ids: Vec<String>,
    /// Own ids by the kind they encode (`Lead`, `User`...).
    own_by_kind: HashMap<String, Vec<String>>,
    foreign_ids: Vec<String>,
    cursors: Vec<String>,
    emails: Vec<String>,
    /// Refresh tokens handed out by sign-ins the fuzz made.
    tokens: Vec<String>,
    seen: HashSet<String>,
    receiver_url: String,
    counter: u64,
}

const POOL_CAP: usize = 400;

impl Pools {
    fn add(list: &mut Vec<String>, seen: &mut HashSet<String>, value: &str, rng: &mut Rng) {
        if value.is_empty() || value.len() > 512 || !seen.insert(value.to_owned()) {
            return;
        }
        if list.len() < POOL_CAP {
            list.push(value.to_owned());
        } else {
            let slot = rng.below(list.len());
            list[slot] = value.to_owned();
        }
    }

    /// Learns ids, cursors and e-mails from a response's data.
    fn harvest(&mut self, data: &Value, foreign: bool, rng: &mut Rng) {
        match data {
            Value::Object(fields) => {
                for (key, value) in fields {
                    if let Value::String(s) = value {
                        if key == "id" || key.ends_with("Id") {
                            if foreign {
                                Self::add(&mut self.foreign_ids, &mut self.seen, s, rng);
                            } else if !self.seen.contains(s.as_str()) {
                                if let Some(kind) = kind_of(s) {
                                    let list = self.own_by_kind.entry(kind).or_default();
                                    list.truncate(POOL_CAP - 1);
                                    list.push(s.clone());
                                }
                                Self::add(&mut self.own_ids, &mut self.seen, s, rng);
                            }
                        } else if !foreign && (key == "cursor" || key.ends_with("Cursor")) {
                            Self::add(&mut self.cursors, &mut self.seen, s, rng);
                        } else if !foreign && key == "refreshToken" {
                            Self::add(&mut self.tokens, &mut self.seen, s, rng);
                        } else if !foreign && key == "email" {
                            Self::add(&mut self.emails, &mut self.seen, s, rng);
                        }
                    } else {
                        self.harvest(value, foreign, rng);
                    }
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.harvest(item, foreign, rng);
                }
            }
            _ => {}
        }
    }
}

/// The kind a global id names, when it is one.
fn kind_of(id: &str) -> Option<String> {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
    let (kind, uuid) = raw.split_once(':')?;
    Uuid::parse_str(uuid).ok()?;
    Some(kind.to_owned())
}

// ---------------------------------------------------------------------------------------------
// The generator

struct Generator<'a> {
    schema: &'a Schema,
    rng: Rng,
    pools: Pools,
    /// This operation sends only valid-looking values (so mutations get past validation and
    /// their later paths run too); otherwise any value goes.
    clean: bool,
    /// The root field and input type being filled in: which kind of id an `id` wants.
    scope: String,
}

const NODE_KINDS: [&str; 10] = [
    "Organization",
    "User",
    "ApiKey",
    "Company",
    "Lead",
    "Activity",
    "Note",
    "AuditLog",
    "WebhookEndpoint",
    "WebhookDelivery",
];

impl Generator<'_> {
    /// An odd choice, `percent` times out of 100, never in a clean operation.
    fn odd(&mut self, percent: u64) -> bool {
        !self.clean && self.rng.chance(percent)
    }

    /// A valid-looking string for a field named `hint`.
    fn plain(&mut self, hint: &str) -> String {
        let n = self.unique();
        let hint = hint.to_ascii_lowercase();
        if hint.contains("domain") {
            format!("d{n}.example.com")
        } else if hint.contains("linkedin") {
            format!("https://www.linkedin.com/in/fuzz-{n}")
        } else if hint.contains("phone") {
            format!("+1 555 01{:02}", n % 100)
        } else if hint.contains("timezone") {
            "Europe/Paris".into()
        } else {
            let words = [
                "Acme",
                "Initech",
                "Globex",
                "Ada",
                "Lovelace",
                "sales",
                "demo",
                "vip",
                "renewal",
                "Q3",
                "hot-lead",
                "enterprise",
            ];
            let count = self.rng.range(1, 3);
            (0..count)
                .map(|_| *self.rng.pick(&words))
                .collect::<Vec<_>>()
                .join(" ")
                + &format!(" {n}")
        }
    }

    fn unique(&mut self) -> u64 {
        self.pools.counter += 1;
        self.pools.counter
    }

    fn text(&mut self) -> String {
        if self.clean {
            return self.plain("");
        }
        let n = self.unique();
        match self.rng.below(34) {
            0 => String::new(),
            1 => " ".into(),
            2 => format!("  padded {n}  "),
            3 => "x".repeat(100),
            4 => "x".repeat(101),
            5 => "y".repeat(self.rng.range(150, 300)),
            6 => "z".repeat(self.rng.range(1_000, 4_096)),
            7 => format!("🚀 Launch 🔥 {n}"),
            8 => "Zoë Ünïcödé 日本語 Ελληνικά".into(),
            9 => "مرحبا بالعالم \u{202e}reversed\u{202c}".into(),
            10 => "a\u{0}b".into(),
            11 => "\u{0}".into(),
            12 => "\u{1}\u{2}\u{1b}[31mred\u{7f}".into(),
            13 => "line\nbreak\ttab\r\u{b}\u{c}".into(),
            14 => "\u{feff}bom\u{200b}zero\u{2028}sep".into(),
            15 => "\u{10ffff}\u{fffd}\u{e000}".into(),
            16 => "%_\\%".into(),
            17 => "' OR 1=1 --; DROP TABLE leads; --".into(),
            18 => "<script>alert(1)</script>".into(),
            19 => "${jndi:ldap://x}{{7*7}}".into(),
            20 => "🏳️‍🌈".repeat(self.rng.range(10, 500)),
            21 => format!("e{}", "\u{301}".repeat(self.rng.range(10, 300))),
            22 => "\u{3000}\u{a0}\u{2003}".into(),
            23 => "$1 $2 ? :name".into(),
            24 => "\\u0000 literally".into(),
            25 => self.random_unicode(),
            26 => self.random_unicode(),
            _ => self.plain(""),
        }
    }

    /// Characters from anywhere in Unicode, control characters included.
    fn random_unicode(&mut self) -> String {
        let len = self.rng.range(1, 40);
        (0..len)
            .filter_map(|_| {
                let code = match self.rng.below(4) {
                    0 => self.rng.below(0x20) as u32,
                    1 => self.rng.range(0x20, 0x7e) as u32,
                    2 => self.rng.range(0x80, 0xffff) as u32,
                    _ => self.rng.range(0x1_0000, 0x10_ffff) as u32,
                };
                char::from_u32(code)
            })
            .collect()
    }

    fn email(&mut self) -> String {
        let n = self.unique();
        if self.clean {
            return if !self.pools.emails.is_empty() && self.rng.chance(30) {
                self.rng.pick(&self.pools.emails).clone()
            } else {
                format!("fuzz.{n}@example.com")
            };
        }
        match self.rng.below(12) {
            0..=3 => format!("fuzz.{n}@example.com"),
            4 => format!("Fuzz.{n}@Example.COM"),
            5 if !self.pools.emails.is_empty() => self.rng.pick(&self.pools.emails).clone(),
            6 => "not-an-email".into(),
            7 => format!("{}@example.com", "a".repeat(self.rng.range(60, 300))),
            8 => format!("ü{n}@例え.jp"),
            9 => "@example.com".into(),
            10 => format!("a{n}@b"),
            _ => self.text(),
        }
    }

    fn password(&mut self) -> String {
        if self.clean {
            return PASSWORD.into();
        }
        match self.rng.below(7) {
            0 | 1 => PASSWORD.into(),
            2 => "short".into(),
            3 => "p".repeat(128),
            4 => "p".repeat(self.rng.range(129, 4_000)),
            5 => "🔑".repeat(12),
            _ => self.text(),
        }
    }

    fn url(&mut self) -> String {
        let receiver = self.pools.receiver_url.clone();
        if self.clean {
            return receiver;
        }
        match self.rng.below(16) {
            0..=4 => receiver,
            5 => "http://127.0.0.1:1/hook".into(),
            6 => "https://localhost/hook".into(),
            7 => "http://[::1]:9/x".into(),
            8 => "http://169.254.169.254/latest/meta-data/".into(),
            9 => "ftp://example.com/".into(),
            10 => "http://user:pw@127.0.0.1/".into(),
            11 => "http://nonexistent.invalid/hook".into(),
            12 => format!("http://{}.com/", "a".repeat(self.rng.range(64, 3_000))),
            13 => "http://127.0.0.1:99999/".into(),
            14 => "http://[::ffff:127.0.0.1]/".into(),
            _ => self.text(),
        }
    }

    fn slug(&mut self) -> String {
        let n = self.unique();
        if self.clean {
            return if self.rng.chance(50) {
                "fuzz-a".into()
            } else {
                format!("fuzz-{n}")
            };
        }
        match self.rng.below(6) {
            0 => format!("fuzz-{n}"),
            1 => "fuzz-a".into(),
            2 => "Not A Slug".into(),
            3 => "-x-".into(),
            4 => "s".repeat(64),
            _ => self.text(),
        }
    }

    fn cursor(&mut self) -> String {
        let uuid = self.rng.uuid().to_string();
        let encode = |v: Value| URL_SAFE_NO_PAD.encode(v.to_string());
        if self.clean && !self.pools.cursors.is_empty() {
            return self.rng.pick(&self.pools.cursors).clone();
        }
        match self.rng.below(20) {
            0..=6 if !self.pools.cursors.is_empty() => self.rng.pick(&self.pools.cursors).clone(),
            7..=9 if !self.pools.cursors.is_empty() => {
                let cursor = self.rng.pick(&self.pools.cursors).clone();
                self.mutate_cursor(&cursor)
            }
            10 => encode(json!(["zzz", uuid])),
            11 => encode(json!(["2020-01-01T00:00:00Z", uuid])),
            12 => encode(json!({ "created_at": "garbage", "id": uuid })),
            13 => encode(json!({ "created_at": "2020-01-01T00:00:00Z", "id": uuid })),
            14 => encode(json!({ "o": 1, "p": i64::MAX })),
            15 => encode(json!([1, 2, 3])),
            16 => URL_SAFE_NO_PAD.encode(
                (0..self.rng.range(1, 64))
                    .map(|_| self.rng.next() as u8)
                    .collect::<Vec<u8>>(),
            ),
            17 => "garbage!!".into(),
            18 => String::new(),
            _ => self.text(),
        }
    }

    /// A cursor the server made, with one value inside replaced by something odd.
    fn mutate_cursor(&mut self, cursor: &str) -> String {
        let Some(mut value) = URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<Value>(&bytes).ok())
        else {
            return cursor.to_owned();
        };
        let odd = match self.rng.below(12) {
            0 => json!("garbage"),
            1 => json!(""),
            2 => json!("a\u{0}b"),
            3 => json!(-1),
            4 => json!(i64::MAX),
            5 => json!(i64::MIN),
            6 => json!(1e300),
            7 => json!(null),
            8 => json!("-262143-01-01T00:00:00Z"),
            9 => json!("99999999999999999999"),
            10 => json!(self.rng.uuid().to_string()),
            _ => json!([]),
        };
        match &mut value {
            Value::Array(items) if !items.is_empty() => {
                let i = self.rng.below(items.len());
                items[i] = odd;
            }
            Value::Object(fields) if !fields.is_empty() => {
                let keys: Vec<String> = fields.keys().cloned().collect();
                let key = self.rng.pick(&keys).clone();
                fields.insert(key, odd);
            }
            _ => return cursor.to_owned(),
        }
        URL_SAFE_NO_PAD.encode(value.to_string())
    }

    /// The kind of node an id field named `hint` wants, from its name or its scope.
    fn wanted_kind(&self, hint: &str) -> Option<&'static str> {
        let by_name = [
            ("leadId", "Lead"),
            ("companyId", "Company"),
            ("userId", "User"),
            ("assignedToId", "User"),
            ("mentionedUserIds", "User"),
            ("endpointId", "WebhookEndpoint"),
            ("deliveryId", "WebhookDelivery"),
        ];
        if let Some((_, kind)) = by_name.iter().find(|(name, _)| *name == hint) {
            return Some(kind);
        }
        let scope = self.scope.to_ascii_lowercase();
        // Longer names first: `WebhookEndpoint` before `User`.
        let mut kinds = NODE_KINDS;
        kinds.sort_by_key(|k| std::cmp::Reverse(k.len()));
        kinds
            .into_iter()
            .find(|kind| scope.contains(&kind.to_ascii_lowercase()))
    }

    fn id(&mut self, hint: &str) -> String {
        let uuid = self.rng.uuid();
        let wanted = self.wanted_kind(hint).and_then(|kind| {
            self.pools
                .own_by_kind
                .get(kind)
                .filter(|ids| !ids.is_empty())
                .cloned()
        });
        if let Some(ids) = wanted
            && (self.clean || self.rng.chance(30))
        {
            return self.rng.pick(&ids).clone();
        }
        match self.rng.below(20) {
            0..=9 if !self.pools.own_ids.is_empty() => self.rng.pick(&self.pools.own_ids).clone(),
            10..=12 if !self.pools.foreign_ids.is_empty() => {
                self.rng.pick(&self.pools.foreign_ids).clone()
            }
            13 => {
                let kind = *self.rng.pick(&NODE_KINDS);
                URL_SAFE_NO_PAD.encode(format!("{kind}:{uuid}"))
            }
            14 => URL_SAFE_NO_PAD.encode("Lead:not-a-uuid"),
            15 => URL_SAFE_NO_PAD.encode(format!("Nope:{uuid}")),
            16 => STANDARD.encode(format!("Lead:{uuid}")),
            17 => uuid.to_string(),
            18 => "garbage".into(),
            _ => self.text(),
        }
    }

    fn int(&mut self, hint: &str) -> Val {
        let hint = hint.to_ascii_lowercase();
        let page = hint == "first" || hint == "last";
        if self.clean {
            let value = if page {
                self.rng.range(1, 20)
            } else if hint.contains("score") || hint.contains("probability") {
                self.rng.range(0, 100)
            } else if hint.contains("ratelimit") {
                self.rng.range(1_000, 1_000_000)
            } else if hint.contains("rank") {
                self.rng.range(1, 500)
            } else {
                self.rng.range(0, 100_000)
            };
            return Val::Int(value as i64);
        }
        if self.rng.chance(2) {
            return Val::Int(i64::from(i32::MAX) + 1);
        }
        if self.rng.chance(1) {
            return Val::Float(1.5);
        }
        if self.rng.chance(1) {
            return Val::Str("7".into());
        }
        let value = match self.rng.below(12) {
            0 => 0,
            1 => 1,
            2 => -1,
            3 => i64::from(i32::MIN),
            4 => i64::from(i32::MAX),
            5 => 100,
            6 => 101,
            7 if page => 20,
            7 => 1_000_000,
            8 => 50,
            _ if page => self.rng.range(0, 10) as i64,
            _ => self.rng.range(0, 1_000_000) as i64,
        };
        Val::Int(value)
    }

    fn datetime(&mut self) -> String {
        if self.clean {
            return format!("20{}-06-30T12:34:56Z", self.rng.range(27, 40));
        }
        let values = [
            "2026-01-01T00:00:00Z",
            "2030-06-30T12:34:56.789+02:00",
            "1970-01-01T00:00:00Z",
            "0001-01-01T00:00:00Z",
            "0000-01-01T00:00:00Z",
            "9999-12-31T23:59:59Z",
            "+262142-12-31T23:59:59Z",
            "-262143-01-01T00:00:00Z",
            "-4714-11-23T00:00:00Z",
            "2026-02-30T00:00:00Z",
            "2026-01-01T00:00:00.123456789Z",
            "2026-01-01",
            "yesterday",
            "",
        ];
        self.rng.pick(&values).to_string()
    }

    fn date(&mut self) -> String {
        if self.clean {
            return format!("20{}-06-30", self.rng.range(27, 40));
        }
        let values = [
            "2026-06-30",
            "1970-01-01",
            "0001-01-01",
            "0000-01-01",
            "9999-12-31",
            "+262142-12-31",
            "-262143-01-01",
            "-4714-11-23",
            "2026-13-01",
            "2026-06-30T00:00:00Z",
            "",
        ];
        self.rng.pick(&values).to_string()
    }

    fn json(&mut self, depth: usize) -> Val {
        if depth == 0 && !self.clean {
            match self.rng.below(20) {
                0 => return Val::List(vec![Val::Int(1)]),
                1 => return Val::Str(self.text()),
                2 => return Val::Int(42),
                3 => {
                    // Deep, within the document's nesting bound.
                    let mut value = Val::Int(1);
                    for _ in 0..self.rng.range(10, 40) {
                        value = Val::Object(vec![("n".into(), value)]);
                    }
                    return value;
                }
                4 => {
                    let fields = (0..self.rng.range(50, 200))
                        .map(|i| (format!("k{i}"), Val::Str("v".repeat(100))))
                        .collect();
                    return Val::Object(fields);
                }
                _ => {}
            }
        }
        let count = self.rng.range(0, 4);
        let fields = (0..count)
            .map(|i| {
                let key = if self.odd(10) {
                    self.text()
                } else {
                    format!("key{i}")
                };
                let value = match self.rng.below(8) {
                    0 => Val::Null,
                    1 => Val::Bool(true),
                    2 => Val::Int(self.rng.next() as i64 >> 20),
                    3 => Val::Float(0.5),
                    4 if depth < 3 => self.json(depth + 1),
                    5 if depth < 3 => Val::List(vec![self.json(depth + 1), Val::Str(self.text())]),
                    _ => Val::Str(self.text()),
                };
                (key, value)
            })
            .collect();
        Val::Object(fields)
    }

    fn string_for(&mut self, hint: &str) -> String {
        if self.odd(15) {
            return self.text();
        }
        let lower = hint.to_ascii_lowercase();
        if lower.contains("email") {
            self.email()
        } else if lower.contains("password") {
            self.password()
        } else if lower.contains("linkedin") {
            if self.clean {
                self.plain(hint)
            } else {
                self.url()
            }
        } else if lower.contains("url") || lower.contains("website") {
            self.url()
        } else if lower == "after" || lower == "before" || lower.contains("cursor") {
            self.cursor()
        } else if lower.contains("token") {
            if !self.pools.tokens.is_empty() && (self.clean || self.rng.chance(50)) {
                return self.rng.pick(&self.pools.tokens).clone();
            }
            match self.rng.below(3) {
                0 => self.cursor(),
                1 => format!("{}.{}.sig", STANDARD.encode("{}"), STANDARD.encode("{}")),
                _ => self.text(),
            }
        } else if lower.contains("slug") {
            self.slug()
        } else if self.clean {
            self.plain(hint)
        } else {
            self.text()
        }
    }

    fn scalar(&mut self, name: &str, hint: &str) -> Val {
        match name {
            "ID" => Val::Str(self.id(hint)),
            "Int" => self.int(hint),
            "Float" => Val::Float(*self.rng.pick(&[0.0, -1.5, 1e300, f64::MIN_POSITIVE])),
            "Boolean" => {
                if self.odd(2) {
                    Val::Str("true".into())
                } else {
                    Val::Bool(self.rng.chance(50))
                }
            }
            "DateTime" => Val::Str(self.datetime()),
            "NaiveDate" => Val::Str(self.date()),
            "JSON" => self.json(0),
            _ => Val::Str(self.string_for(hint)),
        }
    }

    fn enum_value(&mut self, name: &str) -> Val {
        let values = &self.schema.types[name].enum_values;
        if self.clean {
            return Val::Enum(self.rng.pick(values).clone());
        }
        match self.rng.below(30) {
            0 => Val::Enum("MAYBE".into()),
            1 => Val::Enum(self.rng.pick(values).to_lowercase()),
            2 => Val::Str(self.rng.pick(values).clone()),
            3 => Val::Int(1),
            _ => Val::Enum(self.rng.pick(values).clone()),
        }
    }

    fn input_object(&mut self, name: &str, depth: usize) -> Val {
        if self.odd(2) {
            return Val::Str(self.text());
        }
        if depth > 4 {
            return Val::Object(Vec::new());
        }
        let scope = std::mem::replace(&mut self.scope, name.to_owned());
        let fields = self.schema.types[name].input_fields.clone();
        let mut out = Vec::new();
        for field in &fields {
            let include = if field.required() {
                !self.odd(4)
            } else {
                self.rng.chance(if self.clean { 40 } else { 50 })
            };
            if include {
                out.push((
                    field.name.clone(),
                    self.value(&field.ty, &field.name, depth + 1),
                ));
            }
        }
        if self.odd(3) {
            out.push(("fuzzUnknown".into(), Val::Str(self.text())));
        }
        if self.odd(3) && out.len() > 1 {
            // A field given twice.
            let dup = out[0].clone();
            out.push(dup);
        }
        self.scope = scope;
        Val::Object(out)
    }

    fn value(&mut self, ty: &TypeRef, hint: &str, depth: usize) -> Val {
        match ty {
            TypeRef::NonNull(inner) => {
                if self.odd(3) {
                    Val::Null
                } else {
                    self.inner_value(inner, hint, depth)
                }
            }
            other => {
                if self.odd(8) {
                    Val::Null
                } else {
                    self.inner_value(other, hint, depth)
                }
            }
        }
    }

    fn inner_value(&mut self, ty: &TypeRef, hint: &str, depth: usize) -> Val {
        match ty {
            TypeRef::NonNull(inner) => self.inner_value(inner, hint, depth),
            TypeRef::List(inner) => match self.rng.below(100) {
                _ if self.clean => Val::List(
                    (0..self.rng.range(0, 3))
                        .map(|_| self.value(inner, hint, depth))
                        .collect(),
                ),
                0..=7 => Val::List(Vec::new()),
                8..=14 => self.value(inner, hint, depth),
                15..=18 => Val::List(
                    (0..self.rng.range(30, 150))
                        .map(|_| self.value(inner, hint, depth))
                        .collect(),
                ),
                19..=21 => Val::List(vec![Val::List(vec![self.value(inner, hint, depth)])]),
                _ => Val::List(
                    (0..self.rng.range(1, 3))
                        .map(|_| self.value(inner, hint, depth))
                        .collect(),
                ),
            },
            TypeRef::Named(name) => match self.schema.kind(name) {
                "ENUM" => self.enum_value(name),
                "INPUT_OBJECT" => self.input_object(name, depth),
                _ => self.scalar(name, hint),
            },
        }
    }

    /// The type a variable is declared with: usually the argument's own.
    fn declared(&mut self, ty: &TypeRef) -> String {
        if self.clean {
            return ty.render();
        }
        match self.rng.below(40) {
            0 => match ty {
                TypeRef::NonNull(inner) => inner.render(),
                other => format!("{}!", other.render()),
            },
            1 => "String".into(),
            2 => format!("[{}]", ty.render()),
            _ => ty.render(),
        }
    }

    fn args(&mut self, defs: &[InputDef], nested: bool) -> Vec<Arg> {
        let mut args = Vec::new();
        for def in defs {
            let include = if def.required() {
                !self.odd(3)
            } else {
                self.rng.chance(if nested { 30 } else { 50 })
            };
            if !include {
                continue;
            }
            let inline = nested || self.rng.chance(50);
            let value = if !inline && self.odd(2) {
                None
            } else {
                Some(self.value(&def.ty, &def.name, 0))
            };
            args.push(Arg {
                name: def.name.clone(),
                declared: self.declared(&def.ty),
                value,
                inline,
            });
        }
        if self.odd(2) {
            args.push(Arg {
                name: "fuzzUnknown".into(),
                declared: "Int".into(),
                value: Some(Val::Int(1)),
                inline: true,
            });
        }
        args
    }

    fn render_nested_args(args: &[Arg]) -> String {
        if args.is_empty() {
            return String::new();
        }
        let args: Vec<String> = args
            .iter()
            .map(|a| {
                format!(
                    "{}: {}",
                    a.name,
                    a.value.as_ref().map_or("null".into(), Val::literal)
                )
            })
            .collect();
        format!("({})", args.join(", "))
    }

    /// A selection set for `type_name` (without braces); empty for leaves.
    fn selection(&mut self, type_name: &str, depth: usize, max_depth: usize, deep: bool) -> String {
        let schema = self.schema;
        let Some(def) = schema.types.get(type_name) else {
            return String::new();
        };
        match def.kind.as_str() {
            "OBJECT" => {
                let mut parts = Vec::new();
                for field in &def.fields {
                    let leaf = schema.is_leaf(field.ty.named());
                    let wanted = if leaf {
                        self.rng.chance(40)
                    } else {
                        depth < max_depth && self.rng.chance(if deep { 70 } else { 30 })
                    };
                    if !wanted {
                        continue;
                    }
                    parts.push(self.field_selection(field, depth, max_depth, deep));
                }
                if parts.is_empty() {
                    let leaves: Vec<&FieldDef> = def
                        .fields
                        .iter()
                        .filter(|f| schema.is_leaf(f.ty.named()) && f.args.is_empty())
                        .collect();
                    if leaves.is_empty() {
                        parts.push("__typename".into());
                    } else {
                        parts.push(self.rng.pick(&leaves).name.clone());
                    }
                }
                if self.rng.chance(5) {
                    parts.push("__typename".into());
                }
                parts.join(" ")
            }
            "INTERFACE" | "UNION" => {
                let mut parts = vec!["__typename".to_owned()];
                for field in &def.fields {
                    if schema.is_leaf(field.ty.named()) && self.rng.chance(50) {
                        parts.push(field.name.clone());
                    }
                }
                let possible = def.possible_types.clone();
                for _ in 0..self.rng.range(0, 2) {
                    if possible.is_empty() {
                        break;
                    }
                    let concrete = self.rng.pick(&possible).clone();
                    let inner = self.selection(&concrete, depth, max_depth, deep);
                    parts.push(format!("... on {concrete} {{ {inner} }}"));
                }
                parts.join(" ")
            }
            _ => String::new(),
        }
    }

    fn field_selection(
        &mut self,
        field: &FieldDef,
        depth: usize,
        max_depth: usize,
        deep: bool,
    ) -> String {
        let args = self.args(&field.args, true);
        let mut text = String::new();
        if self.rng.chance(3) {
            text.push_str(&format!("a{}: ", self.rng.below(1_000)));
        }
        text.push_str(&field.name);
        text.push_str(&Self::render_nested_args(&args));
        if !self.schema.is_leaf(field.ty.named()) {
            let inner = self.selection(field.ty.named(), depth + 1, max_depth, deep);
            text.push_str(&format!(" {{ {inner} }}"));
        }
        text
    }

    fn minimal_selection(&self, ty: &TypeRef) -> String {
        if self.schema.is_leaf(ty.named()) {
            String::new()
        } else {
            "__typename".into()
        }
    }

    fn operation(&mut self) -> Operation {
        let schema = self.schema;
        self.clean = self.rng.chance(35);
        let caller = match self.rng.below(100) {
            _ if self.clean && self.rng.chance(70) => Caller::Owner,
            0..=4 => Caller::Anonymous,
            5..=64 => Caller::Owner,
            65..=81 => Caller::Viewer,
            _ => Caller::ReadKey,
        };
        // Callers without credentials mostly try what they may: the server's sign-in fields.
        let sign_in = caller == Caller::Anonymous && self.rng.chance(80);
        let mutation = schema.mutation.is_some() && (sign_in || self.rng.chance(45));
        let root = if mutation {
            schema.mutation.clone().unwrap()
        } else {
            schema.query.clone()
        };
        let mut fields = schema.root_fields(&root).to_vec();
        if sign_in {
            fields.retain(|f| CREDENTIAL_FIELDS.contains(&f.name.as_str()));
        }
        let count = if !sign_in && self.rng.chance(15) {
            self.rng.range(2, 3)
        } else {
            1
        };
        let deep = self.odd(5);
        let mut calls = Vec::new();
        for i in 0..count {
            let field = self.rng.pick(&fields).clone();
            self.scope = field.name.clone();
            let max_depth = if deep {
                self.rng.range(11, 16)
            } else {
                self.rng.range(1, 4)
            };
            let selection = if schema.is_leaf(field.ty.named()) {
                String::new()
            } else {
                self.selection(field.ty.named(), 2, max_depth, deep)
            };
            calls.push(Call {
                alias: (count > 1).then(|| format!("f{i}")),
                args: self.args(&field.args, false),
                minimal_selection: self.minimal_selection(&field.ty),
                field: field.name,
                selection,
            });
        }
        let name = match self.rng.below(10) {
            0..=3 => OperationName::None,
            4..=6 => OperationName::Sent,
            7 | 8 => OperationName::Omitted,
            _ if self.odd(30) => OperationName::Wrong,
            _ => OperationName::Sent,
        };
        let odd_variables = self
            .odd(1)
            .then(|| self.rng.pick(&[json!("x"), json!([1]), json!(3)]).clone());
        let mut operation = Operation {
            mutation,
            name,
            calls,
            get: if self.clean {
                !mutation && self.rng.chance(12)
            } else {
                self.rng.chance(12)
            },
            modern_accept: self.rng.chance(20),
            caller,
            odd_variables,
        };
        if operation.get {
            // URLs are short in practice (and for the HTTP client): long documents use POST.
            let rendered = operation.render();
            operation.get = rendered.query.len() + rendered.variables.to_string().len() < 6_000;
        }
        operation
    }
}

// ---------------------------------------------------------------------------------------------
// Sending and judging

struct Credentials {
    owner: String,
    viewer: String,
    read_key: String,
}

impl Credentials {
    fn of(&self, caller: Caller) -> Option<&str> {
        Some(match caller {
            Caller::Owner => &self.owner,
            Caller::Viewer => &self.viewer,
            Caller::ReadKey => &self.read_key,
            Caller::Anonymous => return None,
        })
    }
}

struct Answered {
    status: u16,
    body: Result<Value, String>,
}

impl Answered {
    fn codes(&self) -> Vec<String> {
        let Ok(body) = &self.body else {
            return Vec::new();
        };
        body["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .map(|e| {
                        e["extensions"]["code"]
                            .as_str()
                            .unwrap_or("<none>")
                            .to_owned()
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Why this answer breaks the contract, if it does.
    fn problem(&self) -> Option<String> {
        if self.status >= 500 {
            return Some(format!("HTTP {}", self.status));
        }
        let body = match &self.body {
            Ok(body) => body,
            Err(text) => return Some(format!("not a JSON body: {text:.200}")),
        };
        if !body.is_object() {
            return Some("the body is not a JSON object".into());
        }
        for error in body["errors"].as_array().into_iter().flatten() {
            let message = error["message"].as_str().unwrap_or_default();
            match error["extensions"]["code"].as_str() {
                None => return Some(format!("error without extensions.code: {message:.200}")),
                Some("INTERNAL") => return Some(format!("INTERNAL: {message:.200}")),
                Some(_) => {}
            }
        }
        None
    }
}

async fn send(app: &TestApp, credential: Option<&str>, operation: &Operation) -> Answered {
    let rendered = operation.render();
    let mut request = if operation.get {
        let mut params = vec![
            ("query", rendered.query.clone()),
            ("variables", rendered.variables.to_string()),
        ];
        if let Some(name) = &rendered.operation_name {
            params.push(("operationName", name.clone()));
        }
        app.http().get(app.url("/graphql")).query(&params)
    } else {
        let mut body = json!({ "query": rendered.query, "variables": rendered.variables });
        if let Some(name) = &rendered.operation_name {
            body["operationName"] = json!(name);
        }
        app.http().post(app.url("/graphql")).json(&body)
    };
    if operation.modern_accept {
        request = request.header("accept", "application/graphql-response+json");
    }
    if let Some(credential) = credential {
        request = request.bearer_auth(credential);
    }
    let response = request.send().await.expect("the server answers");
    let status = response.status().as_u16();
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str::<Value>(&text).map_err(|_| text);
    Answered { status, body }
}

fn reproduction(operation: &Operation, answered: &Answered) -> String {
    let rendered = operation.render();
    let body = match &answered.body {
        Ok(body) => serde_json::to_string_pretty(body).unwrap(),
        Err(text) => text.clone(),
    };
    let mut variables = serde_json::to_string_pretty(&rendered.variables).unwrap();
    if variables.chars().count() > 20_000 {
        variables = variables.chars().take(20_000).collect::<String>() + " …(cut here)";
    }
    format!(
        "{} /graphql as {:?}{}\n--- query\n{}\n--- variables\n{}\n--- operationName: {:?}\n--- HTTP {}\n{body:.4000}",
        if operation.get { "GET" } else { "POST" },
        operation.caller,
        if operation.modern_accept {
            ", Accept: application/graphql-response+json"
        } else {
            ""
        },
        rendered.query,
        variables,
        rendered.operation_name,
        answered.status,
    )
}

/// Smaller operations that still fail: one root field, fewer arguments and input fields, a
/// minimal selection.
struct Shrinker<'a> {
    app: &'a TestApp,
    tenant: &'a Tenant,
    credentials: &'a mut Credentials,
    restored: &'a mut BTreeMap<Caller, usize>,
    budget: usize,
}

impl Shrinker<'_> {
    /// The answer to `candidate` when it still breaks the contract.
    async fn fails(&mut self, candidate: &Operation) -> Option<Answered> {
        self.budget = self.budget.checked_sub(1)?;
        let got = send(self.app, self.credentials.of(candidate.caller), candidate).await;
        let codes = got.codes();
        if codes
            .iter()
            .any(|c| c == "UNAUTHENTICATED" || c == "RATE_LIMITED")
        {
            restore(
                self.app,
                self.tenant,
                self.credentials,
                candidate.caller,
                self.restored,
            )
            .await;
        }
        got.problem().is_some().then_some(got)
    }
}

async fn shrink(
    shrinker: &mut Shrinker<'_>,
    mut operation: Operation,
    mut answered: Answered,
) -> (Operation, Answered) {
    if operation.calls.len() > 1 {
        for i in 0..operation.calls.len() {
            let mut candidate = operation.clone();
            candidate.calls = vec![operation.calls[i].clone()];
            candidate.calls[0].alias = None;
            if let Some(got) = shrinker.fails(&candidate).await {
                (operation, answered) = (candidate, got);
                break;
            }
        }
    }
    for simplification in 0..4 {
        let mut candidate = operation.clone();
        match simplification {
            0 => candidate.get = false,
            1 => candidate.modern_accept = false,
            2 => candidate.name = OperationName::None,
            _ => candidate.calls[0].selection = candidate.calls[0].minimal_selection.clone(),
        }
        if let Some(got) = shrinker.fails(&candidate).await {
            (operation, answered) = (candidate, got);
        }
    }
    // Drop arguments, then input-object fields, one at a time.
    let mut i = 0;
    while i < operation.calls[0].args.len() {
        let mut candidate = operation.clone();
        candidate.calls[0].args.remove(i);
        if let Some(got) = shrinker.fails(&candidate).await {
            (operation, answered) = (candidate, got);
        } else {
            i += 1;
        }
    }
    for a in 0..operation.calls[0].args.len() {
        let mut f = 0;
        while let Some(Val::Object(fields)) = &operation.calls[0].args[a].value {
            if f >= fields.len() {
                break;
            }
            let mut candidate = operation.clone();
            if let Some(Val::Object(fields)) = &mut candidate.calls[0].args[a].value {
                fields.remove(f);
            }
            if let Some(got) = shrinker.fails(&candidate).await {
                (operation, answered) = (candidate, got);
            } else {
                f += 1;
            }
        }
    }
    (operation, answered)
}

// ---------------------------------------------------------------------------------------------
// The test

fn env_number(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(text) => {
            let text = text.trim();
            let parsed = match text.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16),
                None => text.parse(),
            };
            parsed.unwrap_or_else(|_| panic!("{name}={text} is not a number"))
        }
        Err(_) => default,
    }
}

async fn ok(app: &TestApp, credential: &str, query: &str, variables: Value) -> Value {
    app.gql(Some(credential), query, variables)
        .await
        .ok()
        .clone()
}

/// Data for one tenant, through the API: companies, leads, activities, notes, an API key.
async fn populate(app: &TestApp, tenant: &Tenant) {
    let company = tenant.create_company(app, "Initech").await;
    tenant.create_company(app, "Globex").await;
    for i in 0..3 {
        let lead = tenant
            .create_lead(
                app,
                json!({ "companyId": company, "tags": ["vip", format!("t{i}")], "score": 10 * i }),
            )
            .await;
        tenant.log_activity(app, &lead).await;
        tenant.add_note(app, &lead, i == 0).await;
    }
    tenant.api_key(app, &["READ", "WRITE"]).await;
}

/// A READ key for the fuzz, with a rate limit the fuzz does not reach.
async fn read_key(app: &TestApp, tenant: &Tenant) -> String {
    let created = ok(
        app,
        &tenant.owner.access_token,
        "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { secret } }",
        json!({ "input": { "name": "fuzz", "scopes": ["READ"], "rateLimitPerHour": 1_000_000 } }),
    )
    .await;
    created["createApiKey"]["secret"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// Reads every list the schema offers without required arguments, so the pools start with
/// the tenant's ids and cursors.
async fn prime(
    app: &TestApp,
    schema: &Schema,
    credential: &str,
    pools: &mut Pools,
    foreign: bool,
    rng: &mut Rng,
) {
    for field in schema.root_fields(&schema.query) {
        if field.args.iter().any(InputDef::required) {
            continue;
        }
        let Some(def) = schema.types.get(field.ty.named()) else {
            continue;
        };
        let has = |name: &str| def.fields.iter().any(|f| f.name == name);
        let selection = if has("edges") && has("pageInfo") {
            "pageInfo { startCursor endCursor } edges { cursor node { __typename ... on Node { id } } }"
        } else if has("id") {
            "id"
        } else {
            ""
        };
        let args = if field.args.iter().any(|a| a.name == "first") {
            "(first: 5)"
        } else {
            ""
        };
        let query = if selection.is_empty() {
            format!("{{ {}{args} }}", field.name)
        } else {
            format!("{{ {}{args} {{ {selection} }} }}", field.name)
        };
        let response = app.gql(Some(credential), &query, json!({})).await;
        if let Some(data) = response.body.get("data") {
            pools.harvest(data, foreign, rng);
        }
    }
}

#[tokio::test]
async fn a_fuzz_of_the_whole_schema_gives_no_internal_error_and_no_5xx() {
    let seed = env_number("FUZZ_SEED", DEFAULT_SEED);
    let operations = env_number("FUZZ_OPERATIONS", DEFAULT_OPERATIONS as u64) as usize;
    eprintln!("schema fuzz: FUZZ_SEED={seed:#x} FUZZ_OPERATIONS={operations}");
    let app = TestApp::spawn_with(|c| {
        c.limits.user_rate_limit_per_minute = 1_000_000;
        // Anonymous sign-ins with wrong passwords must not lock out the fuzz's own sign-ins.
        c.limits.sign_in.free_failures = 1_000_000;
        c.limits.sign_in.address_failures_per_window = 1_000_000;
    })
    .await;
    let receiver = Receiver::start(Answer::Ok).await;

    // The tenant under fuzz, with an endpoint first so its events make deliveries.
    let acme = app.sign_up("fuzz-a").await;
    ok(
        &app,
        &acme.owner.access_token,
        "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }",
        json!({ "input": { "url": receiver.url() } }),
    )
    .await;
    populate(&app, &acme).await;
    let viewer = acme.add_user(&app, "VIEWER").await;
    let mut credentials = Credentials {
        owner: acme.owner.access_token.clone(),
        viewer: viewer.access_token.clone(),
        read_key: read_key(&app, &acme).await,
    };

    // The other tenant, whose rows must come out unchanged.
    let other = app.sign_up("fuzz-b").await;
    populate(&app, &other).await;
    ok(
        &app,
        &other.owner.access_token,
        "mutation($input: CreateWebhookEndpointInput!) { createWebhookEndpoint(input: $input) { endpoint { id } } }",
        json!({ "input": { "url": receiver.url() } }),
    )
    .await;
    let mut before = Vec::new();
    for table in FOREIGN_TABLES {
        before.push(app.snapshot(other.organization_id, table).await);
    }

    // The schema, as a signed-in caller reads it.
    let introspection = app
        .gql(Some(&credentials.owner), INTROSPECTION, json!({}))
        .await;
    let schema = Schema::parse(introspection.ok());
    let query_fields = schema.root_fields(&schema.query).len();
    let mutation_fields = schema
        .mutation
        .as_ref()
        .map_or(0, |m| schema.root_fields(m).len());
    assert!(
        query_fields > 5 && mutation_fields > 5,
        "introspection: {query_fields} query and {mutation_fields} mutation fields"
    );

    let mut rng = Rng::new(seed);
    let mut pools = Pools {
        receiver_url: receiver.url(),
        ..Pools::default()
    };
    prime(
        &app,
        &schema,
        &credentials.owner,
        &mut pools,
        false,
        &mut rng,
    )
    .await;
    prime(
        &app,
        &schema,
        &other.owner.access_token,
        &mut pools,
        true,
        &mut rng,
    )
    .await;
    let endpoints = ok(
        &app,
        &credentials.owner,
        "{ webhookEndpoints { nodes { id } } }",
        json!({}),
    )
    .await;
    for endpoint in endpoints["webhookEndpoints"]["nodes"].as_array().unwrap() {
        let deliveries = ok(
            &app,
            &credentials.owner,
            "query($id: ID!) { webhookDeliveries(endpointId: $id) { edges { cursor node { id leadId } } } }",
            json!({ "id": endpoint["id"] }),
        )
        .await;
        pools.harvest(&deliveries, false, &mut rng);
    }
    let mut generator = Generator {
        schema: &schema,
        rng,
        pools,
        clean: false,
        scope: String::new(),
    };

    let started = std::time::Instant::now();
    let mut codes: BTreeMap<String, usize> = BTreeMap::new();
    let mut statuses: BTreeMap<u16, usize> = BTreeMap::new();
    let mut succeeded: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures: BTreeMap<String, usize> = BTreeMap::new();
    let mut reports = Vec::new();
    let mut restored: BTreeMap<Caller, usize> = BTreeMap::new();
    for n in 0..operations {
        if n % 50 == 49 {
            ensure_owner(&app, &acme, &mut credentials, &mut restored).await;
        }
        let operation = generator.operation();
        let answered = send(&app, credentials.of(operation.caller), &operation).await;
        *statuses.entry(answered.status).or_default() += 1;
        let answer_codes = answered.codes();
        for code in &answer_codes {
            *codes.entry(code.clone()).or_default() += 1;
        }
        if let Ok(body) = &answered.body {
            if answer_codes.is_empty() {
                *succeeded.entry(operation.fields()).or_default() += 1;
            }
            if let Some(data) = body.get("data") {
                let mut rng = Rng::new(generator.rng.next());
                generator.pools.harvest(data, false, &mut rng);
            }
        }
        if let Some(problem) = answered.problem() {
            let class = problem.split(':').next().unwrap_or_default().to_owned();
            let signature = format!("{} → {class}", operation.fields());
            let seen = failures.entry(signature).or_default();
            *seen += 1;
            if *seen == 1 && reports.len() < MAX_REPORTED {
                let mut shrinker = Shrinker {
                    app: &app,
                    tenant: &acme,
                    credentials: &mut credentials,
                    restored: &mut restored,
                    budget: 150,
                };
                let (small, small_answer) =
                    shrink(&mut shrinker, operation.clone(), answered).await;
                reports.push(format!(
                    "{problem}\n{}",
                    reproduction(&small, &small_answer)
                ));
            }
        }
        // The fuzz may log its callers out, deactivate them, revoke or throttle the key.
        if answer_codes
            .iter()
            .any(|c| c == "UNAUTHENTICATED" || c == "RATE_LIMITED")
        {
            restore(
                &app,
                &acme,
                &mut credentials,
                operation.caller,
                &mut restored,
            )
            .await;
        }
    }
    let elapsed = started.elapsed();

    eprintln!(
        "schema fuzz: {operations} operations in {:.1} s; HTTP statuses {statuses:?}",
        elapsed.as_secs_f64()
    );
    eprintln!("schema fuzz: error codes {codes:?}");
    eprintln!("schema fuzz: credentials restored {restored:?}");
    let all_fields: Vec<String> = [Some(&schema.query), schema.mutation.as_ref()]
        .into_iter()
        .flatten()
        .flat_map(|root| schema.root_fields(root).iter().map(|f| f.name.clone()))
        .collect();
    let never: Vec<&String> = all_fields
        .iter()
        .filter(|f| {
            !succeeded
                .keys()
                .any(|k| k.split('+').any(|p| p == f.as_str()))
        })
        .collect();
    eprintln!("schema fuzz: root fields that never succeeded: {never:?}");

    assert!(
        failures.is_empty(),
        "schema fuzz (FUZZ_SEED={seed:#x}, FUZZ_OPERATIONS={operations}) broke the contract:\n{failures:#?}\n\n{}",
        reports.join("\n\n==========\n\n")
    );

    // The server still serves, and the other tenant's rows are as they were.
    let health = app.http().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let login = app.login("fuzz-a", &acme.owner.email, PASSWORD).await;
    let token = login.ok()["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(&app, &token, "{ me { id } organization { id } }", json!({})).await;
    for (table, rows) in FOREIGN_TABLES.iter().zip(before) {
        assert_eq!(
            rows,
            app.snapshot(other.organization_id, table).await,
            "the other tenant's {table} changed"
        );
    }
    let theirs = ok(
        &app,
        &other.owner.access_token,
        "{ leads { totalCount } companies { totalCount } }",
        json!({}),
    )
    .await;
    assert_eq!(theirs["leads"]["totalCount"], 3);
    assert_eq!(theirs["companies"]["totalCount"], 2);
}

/// Whether `credential` is accepted, and the role it acts with.
async fn role_of(app: &TestApp, credential: &str) -> Option<String> {
    let response = app
        .http()
        .post(app.url("/graphql"))
        .bearer_auth(credential)
        .json(&json!({ "query": "{ me { role } }" }))
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap_or_default();
    body.pointer("/data/me/role")
        .and_then(Value::as_str)
        .map(str::to_owned)
}

/// Keeps the owner an active OWNER with a working token: the fuzz may log them out, or (once
/// it has made another owner) demote or deactivate them.
async fn ensure_owner(
    app: &TestApp,
    tenant: &Tenant,
    credentials: &mut Credentials,
    restored: &mut BTreeMap<Caller, usize>,
) {
    if role_of(app, &credentials.owner).await.as_deref() == Some("OWNER") {
        return;
    }
    *restored.entry(Caller::Owner).or_default() += 1;
    let user = crate::support::tenant::uuid_of(&tenant.owner.user_id);
    app.owner_sql(
        tenant.organization_id,
        &format!("UPDATE users SET is_active = true, role = 'owner' WHERE id = '{user}'"),
    )
    .await;
    let login = app.login(&tenant.slug, &tenant.owner.email, PASSWORD).await;
    credentials.owner = login.ok()["login"]["accessToken"]
        .as_str()
        .unwrap()
        .to_owned();
}

/// Gives `caller` a working credential again when the fuzz took it away.
async fn restore(
    app: &TestApp,
    tenant: &Tenant,
    credentials: &mut Credentials,
    caller: Caller,
    restored: &mut BTreeMap<Caller, usize>,
) {
    ensure_owner(app, tenant, credentials, restored).await;
    let Some(credential) = credentials.of(caller) else {
        return;
    };
    if caller == Caller::Owner || role_of(app, credential).await.is_some() {
        return;
    }
    *restored.entry(caller).or_default() += 1;
    let owner = Tenant {
        owner: crate::support::tenant::Session {
            access_token: credentials.owner.clone(),
            ..tenant.owner.clone()
        },
        ..tenant.clone()
    };
    match caller {
        Caller::Viewer => credentials.viewer = owner.add_user(app, "VIEWER").await.access_token,
        Caller::ReadKey => credentials.read_key = read_key(app, &owner).await,
        Caller::Owner | Caller::Anonymous => {}
    }
}
