//! Orderings and cursors of every list. The top-level lists and their orders are not listed
//! here: they come from introspection (every `Query` field of a `...Connection` type, every
//! value of its `orderBy.field` enum in both directions), so a new list or a new order is
//! walked as soon as it exists. Each is walked forward and backward two rows at a time over
//! a fixture with ties on every sort key and nulls in the nullable ones: both walks see every
//! row once, in the same order, as many rows as `totalCount`, sorted with nulls last. A cursor
//! only works on the list and order that made it.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value, json};

use crate::support::{
    Tenant, TestApp,
    receiver::{Answer, Receiver},
    tenant::PASSWORD,
};

/// Rows per page: small, so every walk crosses pages, and ties straddle page boundaries.
const PAGE_SIZE: usize = 2;

/// A walk that has not ended after this many pages is going round in circles.
const MAX_PAGES: usize = 100;

/// The Relay arguments every top-level list takes.
const PAGING: [&str; 4] = ["first", "after", "last", "before"];

const INTROSPECTION: &str = "{ __schema { queryType { name } types { name
    fields { name type { ...Ref } args { name defaultValue type { ...Ref } } }
    inputFields { name type { ...Ref } }
    enumValues { name } } } }
fragment Ref on __Type { kind name ofType { kind name ofType { kind name ofType { kind name } } } }";

// ---------------------------------------------------------------------------------------------
// The schema, as introspection describes it

/// The named type inside `NON_NULL` and `LIST` wrappers.
fn named(type_ref: &Value) -> &str {
    assert!(
        !type_ref.is_null(),
        "a type nested deeper than INTROSPECTION reads"
    );
    match type_ref["name"].as_str() {
        Some(name) => name,
        None => named(&type_ref["ofType"]),
    }
}

/// The type as a variable declaration writes it, e.g. `ID!`.
fn written(type_ref: &Value) -> String {
    match type_ref["kind"].as_str() {
        Some("NON_NULL") => format!("{}!", written(&type_ref["ofType"])),
        Some("LIST") => format!("[{}]", written(&type_ref["ofType"])),
        _ => named(type_ref).to_owned(),
    }
}

/// An argument a client must give: non-null without a default.
fn required(argument: &Value) -> bool {
    argument["type"]["kind"] == "NON_NULL" && argument["defaultValue"].is_null()
}

/// The node field an order's enum value names: `FORTUNE_RANK` -> `fortuneRank`.
fn camel_case(value: &str) -> String {
    let mut out = String::new();
    for (i, word) in value.split('_').enumerate() {
        let word = word.to_lowercase();
        let mut chars = word.chars();
        match chars.next() {
            Some(first) if i > 0 => {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
            _ => out.push_str(&word),
        }
    }
    out
}

struct Schema {
    query: String,
    types: HashMap<String, Value>,
}

/// A top-level list: a field of `Query` whose type is a connection.
struct List {
    name: String,
    node_type: String,
    args: Vec<Value>,
}

impl List {
    fn arg(&self, name: &str) -> Option<&Value> {
        self.args.iter().find(|arg| arg["name"] == name)
    }
}

/// A variable a walk passes besides paging: its name, its declared type and its value.
#[derive(Clone, Debug)]
struct Argument {
    name: String,
    declared: String,
    value: Value,
}

/// How a node field's values are compared to check an order.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Compare {
    Numbers,
    /// RFC 3339 timestamps, compared as instants.
    Timestamps,
    /// `Money` objects, by their amounts (decimal strings).
    Money,
    /// Text and anything else: PostgreSQL's collation need not order strings as Rust does, so
    /// only the walks' agreement with each other is checked.
    Text,
}

impl Compare {
    fn of(scalar: &str) -> Self {
        match scalar {
            "Int" | "Float" => Compare::Numbers,
            "DateTime" => Compare::Timestamps,
            "Money" => Compare::Money,
            _ => Compare::Text,
        }
    }
}

/// The node field holding a list's sort key, and which way it runs.
#[derive(Clone, Debug)]
struct SortKey {
    field: String,
    /// The field as a query selects it (an object's with its subfields).
    selection: String,
    nullable: bool,
    compare: Compare,
    descending: bool,
}

/// One order of a list: its `orderBy` (none: the list's default order), and its sort key when
/// the node has a field of the order's name.
struct Sorting {
    order_by: Option<Argument>,
    label: String,
    key: Option<SortKey>,
}

impl Schema {
    async fn introspect(app: &TestApp, tenant: &Tenant) -> Self {
        let response = app.gql(tenant.token(), INTROSPECTION, json!({})).await;
        let schema = &response.ok()["__schema"];
        let types = schema["types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| (t["name"].as_str().unwrap().to_owned(), t.clone()))
            .collect();
        Schema {
            query: schema["queryType"]["name"].as_str().unwrap().to_owned(),
            types,
        }
    }

    fn type_named(&self, name: &str) -> &Value {
        self.types
            .get(name)
            .unwrap_or_else(|| panic!("no type {name} in the schema"))
    }

    /// Field (`kind` "fields") or input field (`kind` "inputFields") `name` of `type_name`.
    fn member(&self, type_name: &str, kind: &str, name: &str) -> Option<&Value> {
        self.type_named(type_name)[kind]
            .as_array()?
            .iter()
            .find(|member| member["name"] == name)
    }

    fn input_field(&self, type_name: &str, name: &str) -> &Value {
        self.member(type_name, "inputFields", name)
            .unwrap_or_else(|| panic!("{type_name} has no input field `{name}`"))
    }

    fn enum_values(&self, type_name: &str) -> Vec<String> {
        self.type_named(type_name)["enumValues"]
            .as_array()
            .unwrap_or_else(|| panic!("{type_name} is not an enum"))
            .iter()
            .map(|v| v["name"].as_str().unwrap().to_owned())
            .collect()
    }

    /// Every field of the query type whose type is a connection.
    fn lists(&self) -> Vec<List> {
        self.type_named(&self.query)["fields"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|field| named(&field["type"]).ends_with("Connection"))
            .map(|field| {
                let connection = named(&field["type"]);
                let nodes = self
                    .member(connection, "fields", "nodes")
                    .unwrap_or_else(|| panic!("{connection} has no `nodes`"));
                List {
                    name: field["name"].as_str().unwrap().to_owned(),
                    node_type: named(&nodes["type"]).to_owned(),
                    args: field["args"].as_array().unwrap().clone(),
                }
            })
            .collect()
    }

    /// Every value of the list's `orderBy.field` in both directions; without `orderBy`, its
    /// default order alone.
    fn sortings(&self, list: &List) -> Vec<Sorting> {
        let Some(order_by) = list.arg("orderBy") else {
            return vec![Sorting {
                order_by: None,
                label: "its default order".to_owned(),
                key: None,
            }];
        };
        let order_type = named(&order_by["type"]);
        let fields = self.enum_values(named(&self.input_field(order_type, "field")["type"]));
        let mut directions =
            self.enum_values(named(&self.input_field(order_type, "direction")["type"]));
        directions.sort();
        assert_eq!(directions, ["ASC", "DESC"], "{order_type}.direction");
        let mut sortings = Vec::new();
        for field in &fields {
            let node_field = camel_case(field);
            let sort_field = self.member(&list.node_type, "fields", &node_field);
            for direction in &directions {
                sortings.push(Sorting {
                    order_by: Some(Argument {
                        name: "orderBy".to_owned(),
                        declared: written(&order_by["type"]),
                        value: json!({ "field": field, "direction": direction }),
                    }),
                    label: format!("{field} {direction}"),
                    key: sort_field.map(|f| SortKey {
                        field: node_field.clone(),
                        selection: match Compare::of(named(&f["type"])) {
                            Compare::Money => format!("{node_field} {{ amount }}"),
                            _ => node_field.clone(),
                        },
                        nullable: f["type"]["kind"] != "NON_NULL",
                        compare: Compare::of(named(&f["type"])),
                        descending: direction.as_str() == "DESC",
                    }),
                });
            }
        }
        sortings
    }
}

// ---------------------------------------------------------------------------------------------
// Walking a list page by page

#[derive(Clone, Copy, Debug, PartialEq)]
enum Way {
    /// `first` and `after: endCursor` while `hasNextPage`.
    Forward,
    /// `last` and `before: startCursor` while `hasPreviousPage`.
    Backward,
}

/// What a walk saw: each row's id and sort key (null when none is selected), in list order.
struct Walked {
    rows: Vec<(String, Value)>,
    total_count: i64,
}

/// A paged query and where its connection is in the answer.
struct Pages<'a> {
    app: &'a TestApp,
    tenant: &'a Tenant,
    query: String,
    /// Everything but the paging variables, which each page sets.
    variables: Value,
    /// The connection in `data`, as a JSON pointer, e.g. `/list`.
    at: &'static str,
    /// The node field recorded next to each id.
    key: Option<String>,
    what: String,
}

impl Pages<'_> {
    /// Every page from one end to the other, pages walked backward put in front, so both
    /// ways give the rows in list order.
    async fn walk(&self, way: Way) -> Walked {
        let what = &self.what;
        let (size, cursor_argument, more, next) = match way {
            Way::Forward => ("first", "after", "hasNextPage", "endCursor"),
            Way::Backward => ("last", "before", "hasPreviousPage", "startCursor"),
        };
        let mut rows: Vec<(String, Value)> = Vec::new();
        let mut total_count = None;
        let mut cursor = Value::Null;
        for _ in 0..MAX_PAGES {
            let mut variables = self.variables.clone();
            variables[size] = json!(PAGE_SIZE);
            variables[cursor_argument] = cursor.clone();
            let response = self
                .app
                .gql(self.tenant.token(), &self.query, variables)
                .await;
            assert!(
                response.body.get("errors").is_none(),
                "{what}: {}",
                response.body
            );
            let page = response.at(self.at);
            let count = page["totalCount"]
                .as_i64()
                .unwrap_or_else(|| panic!("{what}: no totalCount in {}", response.body));
            assert_eq!(
                *total_count.get_or_insert(count),
                count,
                "{what}: totalCount changed during the walk"
            );
            let nodes = page["nodes"].as_array().unwrap();
            assert!(
                nodes.len() <= PAGE_SIZE,
                "{what}: {} rows on a page of {PAGE_SIZE}",
                nodes.len()
            );
            let seen = nodes.iter().map(|node| {
                let key = self.key.as_deref().map_or(Value::Null, |k| node[k].clone());
                (node["id"].as_str().unwrap().to_owned(), key)
            });
            match way {
                Way::Forward => rows.extend(seen),
                Way::Backward => {
                    let mut earlier: Vec<(String, Value)> = seen.collect();
                    earlier.extend(rows);
                    rows = earlier;
                }
            }
            let page_info = &page["pageInfo"];
            if !page_info[more]
                .as_bool()
                .unwrap_or_else(|| panic!("{what}: no pageInfo.{more}"))
            {
                return Walked {
                    rows,
                    total_count: count,
                };
            }
            cursor = page_info[next].clone();
            assert!(cursor.is_string(), "{what}: {more} without {next}");
        }
        panic!("{what}: still more pages after {MAX_PAGES}");
    }
}

/// One page of top-level list `list` (aliased `list`): the paging variables, `arguments`, and
/// the sort key field `key` selected next to `id`.
fn page_query(list: &str, arguments: &[Argument], key: Option<&str>) -> String {
    let mut declared: Vec<String> = vec![
        "$first: Int".to_owned(),
        "$after: String".to_owned(),
        "$last: Int".to_owned(),
        "$before: String".to_owned(),
    ];
    let mut passed: Vec<String> = PAGING.iter().map(|p| format!("{p}: ${p}")).collect();
    for argument in arguments {
        declared.push(format!("${}: {}", argument.name, argument.declared));
        passed.push(format!("{0}: ${0}", argument.name));
    }
    let key = key.map_or(String::new(), |k| format!(" {k}"));
    format!(
        "query({}) {{ list: {list}({}) {{ totalCount
            pageInfo {{ hasNextPage hasPreviousPage startCursor endCursor }}
            nodes {{ id{key} }} }} }}",
        declared.join(", "),
        passed.join(", ")
    )
}

fn variables_of(arguments: &[Argument]) -> Value {
    let variables: Map<String, Value> = arguments
        .iter()
        .map(|a| (a.name.clone(), a.value.clone()))
        .collect();
    Value::Object(variables)
}

// ---------------------------------------------------------------------------------------------
// What the walks must show

fn assert_each_once(rows: &[(String, Value)], what: &str) {
    let mut seen = HashSet::new();
    for (id, _) in rows {
        assert!(seen.insert(id), "{what}: {id} seen twice");
    }
}

fn number(value: &Value) -> f64 {
    value
        .as_f64()
        .unwrap_or_else(|| panic!("{value} is not a number"))
}

/// A `Money` object's amount, near enough to compare the fixture's.
fn amount(value: &Value) -> f64 {
    let text = value["amount"]
        .as_str()
        .unwrap_or_else(|| panic!("{value} is not money"));
    text.parse().unwrap_or_else(|e| panic!("{text}: {e}"))
}

fn timestamp(value: &Value) -> chrono::DateTime<chrono::FixedOffset> {
    let text = value
        .as_str()
        .unwrap_or_else(|| panic!("{value} is not a timestamp"));
    chrono::DateTime::parse_from_rfc3339(text).unwrap_or_else(|e| panic!("{text}: {e}"))
}

/// Nulls after every value, whichever the direction; values non-decreasing (ASC) or
/// non-increasing (DESC), unless they are text.
fn assert_in_order(rows: &[(String, Value)], key: &SortKey, what: &str) {
    let values: Vec<&Value> = rows.iter().map(|(_, v)| v).collect();
    if let Some(first_null) = values.iter().position(|v| v.is_null()) {
        assert!(
            values[first_null..].iter().all(|v| v.is_null()),
            "{what}: nulls must come last: {values:?}"
        );
    }
    if key.compare == Compare::Text {
        return;
    }
    let present: Vec<&Value> = values.iter().copied().filter(|v| !v.is_null()).collect();
    let backwards = if key.descending {
        std::cmp::Ordering::Less
    } else {
        std::cmp::Ordering::Greater
    };
    for pair in present.windows(2) {
        let order = match key.compare {
            Compare::Numbers => number(pair[0]).total_cmp(&number(pair[1])),
            Compare::Timestamps => timestamp(pair[0]).cmp(&timestamp(pair[1])),
            Compare::Money => amount(pair[0]).total_cmp(&amount(pair[1])),
            Compare::Text => unreachable!("text is left out above"),
        };
        assert_ne!(
            order, backwards,
            "{what}: {} comes before {}: {values:?}",
            pair[0], pair[1]
        );
    }
}

/// The fixture gives the order what it must get right: rows sharing a value (ordered among
/// themselves by id), and for a nullable field, rows with and rows without a value.
fn assert_fixture_has_ties_and_nulls(rows: &[(String, Value)], key: &SortKey, what: &str) {
    let values: Vec<&Value> = rows.iter().map(|(_, v)| v).collect();
    assert!(
        values
            .windows(2)
            .any(|pair| !pair[0].is_null() && pair[0] == pair[1]),
        "{what}: the fixture needs two rows with the same {}: {values:?}",
        key.field
    );
    if key.nullable {
        assert!(
            values.iter().any(|v| v.is_null()) && values.iter().any(|v| !v.is_null()),
            "{what}: the fixture needs rows with and without {}: {values:?}",
            key.field
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Fixtures

/// Runs `mutation` once per input, all in ONE request: a request's mutations share its
/// transaction, so the rows they create share `created_at` (and `updated_at`): ties. Returns
/// each field's payload (`selection` of it), in input order.
async fn create_together(
    app: &TestApp,
    tenant: &Tenant,
    mutation: &str,
    selection: &str,
    inputs: &[Value],
) -> Vec<Value> {
    let input_type = format!("{}{}Input", mutation[..1].to_uppercase(), &mutation[1..]);
    let declared: Vec<String> = (0..inputs.len())
        .map(|i| format!("$in{i}: {input_type}!"))
        .collect();
    let fields: Vec<String> = (0..inputs.len())
        .map(|i| format!("m{i}: {mutation}(input: $in{i}) {{ {selection} }}"))
        .collect();
    let variables: Map<String, Value> = inputs
        .iter()
        .enumerate()
        .map(|(i, input)| (format!("in{i}"), input.clone()))
        .collect();
    let response = app
        .gql(
            tenant.token(),
            &format!(
                "mutation({}) {{ {} }}",
                declared.join(", "),
                fields.join(" ")
            ),
            Value::Object(variables),
        )
        .await;
    let data = response.ok();
    (0..inputs.len())
        .map(|i| data[format!("m{i}")].clone())
        .collect()
}

/// A tenant whose every list has at least three rows, with ties on each sort key and nulls
/// in the nullable ones.
struct Fixture {
    tenant: Tenant,
    /// What the fixture gives lists that require arguments besides paging.
    list_arguments: HashMap<&'static str, Value>,
    /// Answers the deliveries (kept for the test's length).
    _receiver: Receiver,
}

impl Fixture {
    /// The arguments a walk of `list` passes besides paging and ordering: those registered in
    /// `list_arguments`. A list requiring one that is not registered fails the test, so a new
    /// list cannot slip by unwalked.
    fn arguments_for(&self, list: &List) -> Vec<Argument> {
        for paging in PAGING {
            assert!(
                list.arg(paging).is_some(),
                "`{}` has no `{paging}`: every top-level list pages both ways",
                list.name
            );
        }
        let registered = self.list_arguments.get(list.name.as_str());
        if let Some(registered) = registered {
            for name in registered.as_object().unwrap().keys() {
                assert!(
                    list.arg(name).is_some(),
                    "`list_arguments` gives `{}` an argument `{name}` it does not take",
                    list.name
                );
            }
        }
        let mut arguments = Vec::new();
        for arg in &list.args {
            let name = arg["name"].as_str().unwrap();
            if PAGING.contains(&name) || name == "orderBy" {
                continue;
            }
            match registered.and_then(|r| r.get(name)) {
                Some(value) => arguments.push(Argument {
                    name: name.to_owned(),
                    declared: written(&arg["type"]),
                    value: value.clone(),
                }),
                None => assert!(
                    !required(arg),
                    "`{}` requires `{name}`: register the value the fixture gives it in \
                     `list_arguments` (seed_every_list), and seed it at least three rows",
                    list.name
                ),
            }
        }
        arguments
    }
}

/// Leads created by `seed_every_list`, each delivered once to its webhook endpoint.
const SEEDED_LEADS: usize = 11;

async fn seed_every_list(app: &TestApp) -> Fixture {
    let tenant = app.sign_up("acme").await;

    // Endpoints first: deliveries are made for events after an endpoint's creation. Only the
    // first asks for CREATED events; no RESTORED event happens, so the others get none.
    let receiver = Receiver::start(Answer::Ok).await;
    let endpoints = create_together(
        app,
        &tenant,
        "createWebhookEndpoint",
        "endpoint { id }",
        &[
            json!({ "url": receiver.url(), "eventKinds": ["CREATED"] }),
            json!({ "url": receiver.url(), "eventKinds": ["RESTORED"] }),
            json!({ "url": receiver.url(), "eventKinds": ["RESTORED"] }),
        ],
    )
    .await;
    let delivering = endpoints[0]["endpoint"]["id"].as_str().unwrap().to_owned();

    // Companies: two named alike, two of the same fortune rank, two without one; five share
    // a creation time.
    create_together(
        app,
        &tenant,
        "createCompany",
        "company { id }",
        &[
            json!({ "name": "Initech", "fortuneRank": 7 }),
            json!({ "name": "Initech", "fortuneRank": 7 }),
            json!({ "name": "Globex", "fortuneRank": 120 }),
            json!({ "name": "Umbrella" }),
            json!({ "name": "Hooli" }),
        ],
    )
    .await;
    create_together(
        app,
        &tenant,
        "createCompany",
        "company { id }",
        &[json!({ "name": "Acme Corp", "fortuneRank": 3 })],
    )
    .await;

    // Leads: four of score 50, three named Lovelace; five share a creation (and update) time.
    let lead = |email: &str, last_name: &str, score: i64| json!({ "firstName": "Ada", "lastName": last_name, "email": email, "score": score });
    create_together(
        app,
        &tenant,
        "createLead",
        "lead { id }",
        &[
            lead("a@x.io", "Lovelace", 50),
            lead("b@x.io", "Lovelace", 50),
            lead("c@x.io", "Hopper", 50),
            lead("d@x.io", "Lovelace", 10),
            lead("e@x.io", "Turing", 90),
        ],
    )
    .await;
    create_together(
        app,
        &tenant,
        "createLead",
        "lead { id }",
        &[lead("f@x.io", "Hopper", 50), lead("g@x.io", "Turing", 30)],
    )
    .await;
    // The owner's follow-ups (`myFollowUps`): three due, two of them at the same time, and
    // one not due yet.
    let follow_up = |email: &str, at: &str| {
        json!({ "firstName": "Fay", "lastName": "Up", "email": email,
                "assignedToId": tenant.owner.user_id, "nextFollowUpAt": at })
    };
    create_together(
        app,
        &tenant,
        "createLead",
        "lead { id }",
        &[
            follow_up("h@x.io", "2026-01-02T09:00:00Z"),
            follow_up("i@x.io", "2026-01-02T09:00:00Z"),
            follow_up("j@x.io", "2026-01-01T09:00:00Z"),
            follow_up("k@x.io", "2999-01-01T09:00:00Z"),
        ],
    )
    .await;

    // Partners: three, created together.
    let partner = |email: &str| json!({ "companyName": "Shield Partners", "contactName": "Pat", "email": email });
    create_together(
        app,
        &tenant,
        "createPartner",
        "partner { id }",
        &[partner("p@x.io"), partner("q@x.io"), partner("r@x.io")],
    )
    .await;

    // Deals: two alike in title, value and expected close; others without a value or a
    // date; five share a creation (and update) time.
    let deal = |title: &str, value: Option<&str>, close: Option<&str>| json!({ "title": title, "value": value.map(|amount| json!({ "amount": amount, "currency": "USD" })), "expectedCloseDate": close });
    create_together(
        app,
        &tenant,
        "createDeal",
        "deal { id }",
        &[
            deal("Pentest", Some("5000"), Some("2027-01-15")),
            deal("Pentest", Some("5000"), Some("2027-01-15")),
            deal("Red team", None, None),
            deal("Audit", Some("900.50"), None),
            deal("Phishing drill", None, Some("2027-03-01")),
        ],
    )
    .await;
    create_together(
        app,
        &tenant,
        "createDeal",
        "deal { id }",
        &[deal("Cloud review", Some("12000"), Some("2027-02-01"))],
    )
    .await;

    // Campaigns: two of the same name and start, two without a start; created together.
    let campaign = |name: &str, start: Option<&str>| json!({ "name": name, "type": "EMAIL", "startDate": start });
    create_together(
        app,
        &tenant,
        "createCampaign",
        "campaign { id }",
        &[
            campaign("Q1 outreach", Some("2027-01-10")),
            campaign("Q1 outreach", Some("2027-01-10")),
            campaign("Webinar", None),
            campaign("Conference", None),
        ],
    )
    .await;

    // Segments: three, created together.
    let segment = |name: &str| json!({ "name": name, "filter": { "temperature": ["HOT"] } });
    create_together(
        app,
        &tenant,
        "createSegment",
        "segment { id }",
        &[segment("Hot"), segment("Hot again"), segment("Hot too")],
    )
    .await;

    // Scoring rules, after the leads (which keep their scores): three, created together.
    let rule = |name: &str| {
        json!({ "name": name, "ruleType": "ENGAGEMENT", "points": 5,
        "conditions": [{ "field": "LEAD_TAGS", "operator": "IS_SET" }] })
    };
    create_together(
        app,
        &tenant,
        "createScoringRule",
        "rule { id }",
        &[rule("Tagged"), rule("Tagged again"), rule("Tagged too")],
    )
    .await;

    // Users besides the owner, and API keys: three of each, created together.
    let user = |name: &str| json!({ "email": format!("{name}@acme.test"), "fullName": name, "password": PASSWORD, "role": "AGENT" });
    create_together(
        app,
        &tenant,
        "createUser",
        "user { id }",
        &[user("ann"), user("bob"), user("cyd")],
    )
    .await;
    let key = |name: &str| json!({ "name": name, "scopes": ["READ"] });
    create_together(
        app,
        &tenant,
        "createApiKey",
        "apiKey { id }",
        &[key("etl"), key("crm-sync"), key("backup")],
    )
    .await;

    // Every mutation above wrote audit logs. Once the receiver has every lead's event, every
    // delivery row exists, and no list changes during the walks.
    receiver.wait_for(SEEDED_LEADS).await;

    Fixture {
        tenant,
        list_arguments: HashMap::from([("webhookDeliveries", json!({ "endpointId": delivering }))]),
        _receiver: receiver,
    }
}

// ---------------------------------------------------------------------------------------------
// The tests

#[tokio::test]
async fn every_list_walks_each_ordering_both_ways_seeing_each_row_once() {
    let app = TestApp::spawn().await;
    let fixture = seed_every_list(&app).await;
    let schema = Schema::introspect(&app, &fixture.tenant).await;
    let lists = schema.lists();
    let names: Vec<&str> = lists.iter().map(|l| l.name.as_str()).collect();
    for known in [
        "leads",
        "companies",
        "users",
        "apiKeys",
        "auditLogs",
        "webhookEndpoints",
        "webhookDeliveries",
        "deals",
        "partners",
        "campaigns",
        "segments",
        "scoringRules",
    ] {
        assert!(
            names.contains(&known),
            "introspection found the lists {names:?}, not `{known}`"
        );
    }

    for list in &lists {
        let supplied = fixture.arguments_for(list);
        for sorting in schema.sortings(list) {
            let what = format!("`{}` in {}", list.name, sorting.label);
            let mut arguments = supplied.clone();
            arguments.extend(sorting.order_by.clone());
            let key = sorting.key.as_ref().map(|k| k.field.clone());
            let selection = sorting.key.as_ref().map(|k| k.selection.as_str());
            let pages = Pages {
                app: &app,
                tenant: &fixture.tenant,
                query: page_query(&list.name, &arguments, selection),
                variables: variables_of(&arguments),
                at: "/list",
                key,
                what: what.clone(),
            };

            let forward = pages.walk(Way::Forward).await;
            let backward = pages.walk(Way::Backward).await;

            assert_each_once(&forward.rows, &what);
            assert_eq!(
                backward.rows, forward.rows,
                "{what}: walking back sees other rows, or another order, than walking forward"
            );
            assert_eq!(
                forward.rows.len() as i64,
                forward.total_count,
                "{what}: the walk saw another number of rows than totalCount"
            );
            assert!(
                forward.total_count >= 3,
                "{what}: the fixture must give it at least 3 rows, so the walk crosses pages"
            );
            if let Some(key) = &sorting.key {
                assert_fixture_has_ties_and_nulls(&forward.rows, key, &what);
                assert_in_order(&forward.rows, key, &what);
            }
        }
    }
}

#[tokio::test]
async fn child_lists_walk_forward_seeing_each_row_once() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let company = acme.create_company(&app, "Initech").await;
    // Four leads of the company created together (one created_at), a fifth on its own.
    let of_company = |email: &str| json!({ "firstName": "Ada", "lastName": "Lovelace", "email": email, "companyId": company });
    let leads = create_together(
        &app,
        &acme,
        "createLead",
        "lead { id }",
        &[
            of_company("a@x.io"),
            of_company("b@x.io"),
            of_company("c@x.io"),
            of_company("d@x.io"),
        ],
    )
    .await;
    acme.create_lead(&app, json!({ "companyId": company }))
        .await;
    let lead = leads[0]["lead"]["id"].as_str().unwrap().to_owned();
    // Three activities and three notes created together, a fourth of each on its own.
    let activity =
        json!({ "leadId": lead, "kind": "CALL", "direction": "OUTBOUND", "subject": "Intro" });
    create_together(
        &app,
        &acme,
        "logActivity",
        "activity { id }",
        &[activity.clone(), activity.clone(), activity],
    )
    .await;
    acme.log_activity(&app, &lead).await;
    let note = json!({ "leadId": lead, "content": "Budget approved", "isPrivate": false });
    create_together(
        &app,
        &acme,
        "addLeadNote",
        "note { id }",
        &[note.clone(), note.clone(), note],
    )
    .await;
    acme.add_note(&app, &lead, false).await;

    let newest_first = SortKey {
        field: "createdAt".to_owned(),
        selection: "createdAt".to_owned(),
        nullable: false,
        compare: Compare::Timestamps,
        descending: true,
    };
    for (parent, parent_id, child, seeded) in [
        ("company", &company, "leads", 5),
        ("lead", &lead, "activities", 4),
        ("lead", &lead, "notes", 4),
    ] {
        let what = format!("{parent}.{child}");
        let pages = Pages {
            app: &app,
            tenant: &acme,
            query: format!(
                "query($id: ID!, $first: Int, $after: String) {{ parent: {parent}(id: $id) {{
                    list: {child}(first: $first, after: $after) {{
                        totalCount pageInfo {{ hasNextPage endCursor }} nodes {{ id createdAt }} }} }} }}"
            ),
            variables: json!({ "id": parent_id }),
            at: "/parent/list",
            key: Some(newest_first.field.clone()),
            what: what.clone(),
        };

        let walked = pages.walk(Way::Forward).await;

        assert_each_once(&walked.rows, &what);
        assert_eq!(
            walked.rows.len() as i64,
            walked.total_count,
            "{what}: the walk saw another number of rows than totalCount"
        );
        assert_eq!(walked.total_count, seeded, "{what}");
        assert_fixture_has_ties_and_nulls(&walked.rows, &newest_first, &what);
        assert_in_order(&walked.rows, &newest_first, &what);
    }
}

#[tokio::test]
async fn a_cursor_from_another_list_or_ordering_is_bad_user_input() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    for name in ["Initech", "Globex", "Hooli"] {
        acme.create_company(&app, name).await;
    }
    let lead = acme.create_lead(&app, json!({})).await;
    acme.create_lead(&app, json!({})).await;
    for _ in 0..2 {
        acme.log_activity(&app, &lead).await;
        acme.add_note(&app, &lead, false).await;
    }

    let by_name = app
        .gql(
            acme.token(),
            "{ companies(orderBy: { field: NAME, direction: ASC }, first: 1) {
                pageInfo { endCursor } nodes { name } } }",
            json!({}),
        )
        .await;
    assert_eq!(by_name.at("/companies/nodes/0/name"), "Globex");
    let cursor = by_name.at("/companies/pageInfo/endCursor").clone();

    // On its own list and order, the cursor goes on to the next company by name.
    let next = app
        .gql(
            acme.token(),
            "query($c: String) { companies(orderBy: { field: NAME, direction: ASC }, first: 1, after: $c) {
                nodes { name } } }",
            json!({ "c": cursor }),
        )
        .await;
    assert_eq!(next.at("/companies/nodes/0/name"), "Hooli");

    for (query, field) in [
        (
            "query($c: String) { leads(first: 1, after: $c) { nodes { id } } }",
            "after",
        ),
        (
            "query($c: String) { companies(orderBy: { field: CREATED_AT, direction: ASC }, first: 1, after: $c) {
                nodes { id } } }",
            "after",
        ),
        (
            "query($c: String) { companies(orderBy: { field: NAME, direction: DESC }, first: 1, after: $c) {
                nodes { id } } }",
            "after",
        ),
        (
            "query($c: String) { users(last: 1, before: $c) { nodes { id } } }",
            "before",
        ),
    ] {
        app.gql(acme.token(), query, json!({ "c": cursor }))
            .await
            .assert_bad_input(field);
    }

    // Child lists: a cursor of a lead's activities goes on through its activities, and is not
    // a cursor of its notes.
    let activities = app
        .gql(
            acme.token(),
            "query($id: ID!) { lead(id: $id) { activities(first: 1) { pageInfo { endCursor } nodes { id } } } }",
            json!({ "id": lead }),
        )
        .await;
    let first_activity = activities.at("/lead/activities/nodes/0/id").clone();
    let child_cursor = activities.at("/lead/activities/pageInfo/endCursor").clone();
    let next_activity = app
        .gql(
            acme.token(),
            "query($id: ID!, $c: String) { lead(id: $id) { activities(first: 1, after: $c) { nodes { id } } } }",
            json!({ "id": lead, "c": child_cursor }),
        )
        .await;
    let second_activity = next_activity.at("/lead/activities/nodes/0/id");
    assert!(second_activity.is_string());
    assert_ne!(second_activity, &first_activity);
    app.gql(
        acme.token(),
        "query($id: ID!, $c: String) { lead(id: $id) { notes(first: 1, after: $c) { nodes { id } } } }",
        json!({ "id": lead, "c": child_cursor }),
    )
    .await
    .assert_bad_input("after");
}
