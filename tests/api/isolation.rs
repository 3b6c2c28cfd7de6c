//! Tenant isolation: tenant B can neither see nor touch tenant A's rows, through any GraphQL
//! path or through raw SQL as the app role; A's rows are identical afterwards.

use sea_orm::{ConnectionTrait, DatabaseConnection, Statement, TransactionTrait};
use serde_json::{Value, json};
use uuid::Uuid;

use leadgraph::graphql::NodeKind;

use crate::support::{Tenant, TestApp, tenant::uuid_of};

/// How the isolation tests reach one tenant table (`organizations`, the tenant itself, and
/// each table with an `organization_id` column). `seed` gives tenant A a row in every
/// registered table; the tests then try, as tenant B, to find A's rows by global id
/// (`node(id:)`) and to change or reference them through every mutation that takes one. The
/// first test holds the registry to the catalog: a new tenant table without a registration
/// fails it. Raw SQL as the app role covers every registered table without more.
struct Registration {
    table: &'static str,
    /// Global ids of A's rows in this table (none where the table has no node type).
    ids: fn(&Seeded) -> Vec<String>,
    /// What B attempts against A's rows of this table: (document, variables); each must be
    /// NOT_FOUND and change nothing. Empty where no mutation takes such a row.
    attacks: fn(a: &Seeded, b: &Seeded) -> Vec<(&'static str, Value)>,
}

fn no_ids(_: &Seeded) -> Vec<String> {
    Vec::new()
}

fn no_attacks(_: &Seeded, _: &Seeded) -> Vec<(&'static str, Value)> {
    Vec::new()
}

fn registry() -> Vec<Registration> {
    vec![
        Registration {
            table: "organizations",
            ids: |a| vec![NodeKind::Organization.id(a.tenant.organization_id).0],
            // updateOrganization takes no id: it changes the caller's own organization.
            attacks: no_attacks,
        },
        Registration {
            table: "users",
            ids: |a| vec![a.tenant.owner.user_id.clone()],
            attacks: |a, b| {
                let user = &a.tenant.owner.user_id;
                vec![
                    (
                        "mutation($id: ID!) { updateUserRole(input: { id: $id, role: VIEWER }) { user { id } } }",
                        json!({ "id": user }),
                    ),
                    (
                        "mutation($id: ID!) { deactivateUser(input: { id: $id }) { user { id } } }",
                        json!({ "id": user }),
                    ),
                    (
                        "mutation($id: ID!, $user: ID!) { assignLead(input: { leadId: $id, userId: $user }) { lead { id } } }",
                        json!({ "id": b.lead, "user": user }),
                    ),
                    (
                        "mutation($id: ID!, $user: ID!) { addLeadNote(input: { leadId: $id, content: \"hi\", mentionedUserIds: [$user] }) { note { id } } }",
                        json!({ "id": b.lead, "user": user }),
                    ),
                    (
                        "mutation($id: ID!, $user: ID!) { updateDeal(input: { id: $id, ownerId: $user }) { deal { id } } }",
                        json!({ "id": b.deal, "user": user }),
                    ),
                ]
            },
        },
        Registration {
            table: "refresh_tokens",
            // Sessions are reached only with their own secret (tests/api/auth.rs).
            ids: no_ids,
            attacks: no_attacks,
        },
        Registration {
            table: "api_keys",
            ids: |a| vec![a.api_key.clone()],
            attacks: |a, _| {
                vec![(
                    "mutation($id: ID!) { revokeApiKey(input: { id: $id }) { apiKey { id } } }",
                    json!({ "id": a.api_key }),
                )]
            },
        },
        Registration {
            table: "audit_logs",
            ids: |a| vec![a.audit_log.clone()],
            // Append-only: written by the server for each change, never by a mutation.
            attacks: no_attacks,
        },
        Registration {
            table: "companies",
            ids: |a| vec![a.company.clone()],
            attacks: |a, b| {
                vec![
                    (
                        "mutation($id: ID!) { updateCompany(input: { id: $id, name: \"Pwned\" }) { company { id } } }",
                        json!({ "id": a.company }),
                    ),
                    (
                        "mutation($id: ID!) { deleteCompany(input: { id: $id }) { deletedCompanyId } }",
                        json!({ "id": a.company }),
                    ),
                    (
                        "mutation($id: ID!) { createLead(input: { firstName: \"X\", lastName: \"Y\", email: \"x@y.io\", companyId: $id }) { lead { id } } }",
                        json!({ "id": a.company }),
                    ),
                    (
                        "mutation($id: ID!, $company: ID!) { updateLead(input: { id: $id, companyId: $company }) { lead { id } } }",
                        json!({ "id": b.lead, "company": a.company }),
                    ),
                    (
                        "mutation($id: ID!, $company: ID!) { updateDeal(input: { id: $id, companyId: $company }) { deal { id } } }",
                        json!({ "id": b.deal, "company": a.company }),
                    ),
                ]
            },
        },
        Registration {
            table: "leads",
            ids: |a| vec![a.lead.clone(), a.deleted_lead.clone()],
            attacks: |a, b| {
                vec![
                    (
                        "mutation($id: ID!) { updateLead(input: { id: $id, jobTitle: \"Pwned\" }) { lead { id } } }",
                        json!({ "id": a.lead }),
                    ),
                    (
                        "mutation($id: ID!) { updateLead(input: { id: $id, companyId: null }) { lead { id } } }",
                        json!({ "id": a.lead }),
                    ),
                    (
                        "mutation($id: ID!) { deleteLead(input: { id: $id }) { lead { id } } }",
                        json!({ "id": a.lead }),
                    ),
                    (
                        "mutation($id: ID!) { restoreLead(input: { id: $id }) { lead { id } } }",
                        json!({ "id": a.deleted_lead }),
                    ),
                    (
                        "mutation($id: ID!) { assignLead(input: { leadId: $id, userId: null }) { lead { id } } }",
                        json!({ "id": a.lead }),
                    ),
                    (
                        "mutation($id: ID!) { createDeal(input: { title: \"X\", leadId: $id }) { deal { id } } }",
                        json!({ "id": a.lead }),
                    ),
                    (
                        "mutation($campaign: ID!, $id: ID!) { addLeadsToCampaign(input: { campaignId: $campaign, leadIds: [$id] }) { changedCount } }",
                        json!({ "campaign": b.campaign, "id": a.lead }),
                    ),
                ]
            },
        },
        Registration {
            table: "activities",
            ids: |a| vec![a.activity.clone()],
            attacks: |a, _| {
                vec![(
                    "mutation($id: ID!) { logActivity(input: { leadId: $id, kind: CALL, direction: INBOUND }) { activity { id } } }",
                    json!({ "id": a.lead }),
                )]
            },
        },
        Registration {
            table: "lead_notes",
            ids: |a| vec![a.note.clone()],
            attacks: |a, _| {
                vec![(
                    "mutation($id: ID!) { addLeadNote(input: { leadId: $id, content: \"hi\" }) { note { id } } }",
                    json!({ "id": a.lead }),
                )]
            },
        },
        Registration {
            table: "lead_assignment_turns",
            // The round-robin counter: taken by lead creations, never shown.
            ids: no_ids,
            attacks: no_attacks,
        },
        Registration {
            table: "lead_assignments",
            // Written by a trigger when a lead's assignee changes; read through the lead.
            ids: no_ids,
            attacks: no_attacks,
        },
        Registration {
            table: "pipeline_stages",
            ids: |a| vec![a.stage.clone()],
            attacks: |a, b| {
                vec![
                    (
                        "mutation($id: ID!) { updatePipelineStage(input: { id: $id, name: \"Pwned\" }) { stage { id } } }",
                        json!({ "id": a.stage }),
                    ),
                    (
                        "mutation($id: ID!) { deletePipelineStage(input: { id: $id }) { deletedStageId } }",
                        json!({ "id": a.stage }),
                    ),
                    (
                        "mutation($id: ID!, $to: ID!) { deletePipelineStage(input: { id: $id, moveDealsTo: $to }) { deletedStageId } }",
                        json!({ "id": b.stage, "to": a.stage }),
                    ),
                    (
                        "mutation($id: ID!) { createDeal(input: { title: \"X\", stageId: $id }) { deal { id } } }",
                        json!({ "id": a.stage }),
                    ),
                    (
                        "mutation($id: ID!, $stage: ID!) { moveDeal(input: { id: $id, stageId: $stage }) { deal { id } } }",
                        json!({ "id": b.deal, "stage": a.stage }),
                    ),
                ]
            },
        },
        Registration {
            table: "partners",
            ids: |a| vec![a.partner.clone()],
            attacks: |a, b| {
                vec![
                    (
                        "mutation($id: ID!) { updatePartner(input: { id: $id, tier: GOLD }) { partner { id } } }",
                        json!({ "id": a.partner }),
                    ),
                    (
                        "mutation($id: ID!) { deletePartner(input: { id: $id }) { deletedPartnerId } }",
                        json!({ "id": a.partner }),
                    ),
                    (
                        "mutation($id: ID!) { createDeal(input: { title: \"X\", partnerId: $id }) { deal { id } } }",
                        json!({ "id": a.partner }),
                    ),
                    (
                        "mutation($id: ID!, $partner: ID!) { updateDeal(input: { id: $id, partnerId: $partner }) { deal { id } } }",
                        json!({ "id": b.deal, "partner": a.partner }),
                    ),
                ]
            },
        },
        Registration {
            table: "deals",
            ids: |a| vec![a.deal.clone(), a.deleted_deal.clone()],
            attacks: |a, b| {
                vec![
                    (
                        "mutation($id: ID!) { updateDeal(input: { id: $id, title: \"Pwned\" }) { deal { id } } }",
                        json!({ "id": a.deal }),
                    ),
                    (
                        "mutation($id: ID!, $stage: ID!) { moveDeal(input: { id: $id, stageId: $stage }) { deal { id } } }",
                        json!({ "id": a.deal, "stage": b.stage }),
                    ),
                    (
                        "mutation($id: ID!) { closeDeal(input: { id: $id, won: true }) { deal { id } } }",
                        json!({ "id": a.deal }),
                    ),
                    (
                        "mutation($id: ID!) { deleteDeal(input: { id: $id }) { deal { id } } }",
                        json!({ "id": a.deal }),
                    ),
                    (
                        "mutation($id: ID!) { restoreDeal(input: { id: $id }) { deal { id } } }",
                        json!({ "id": a.deleted_deal }),
                    ),
                ]
            },
        },
        Registration {
            table: "deal_stage_changes",
            // Written by a trigger when a deal enters a stage; read through the deal.
            ids: no_ids,
            attacks: no_attacks,
        },
        Registration {
            table: "campaigns",
            ids: |a| vec![a.campaign.clone()],
            attacks: |a, b| {
                vec![
                    (
                        "mutation($id: ID!) { updateCampaign(input: { id: $id, name: \"Pwned\" }) { campaign { id } } }",
                        json!({ "id": a.campaign }),
                    ),
                    (
                        "mutation($id: ID!) { changeCampaignStatus(input: { id: $id, status: ACTIVE }) { campaign { id } } }",
                        json!({ "id": a.campaign }),
                    ),
                    (
                        "mutation($id: ID!) { recordCampaignSpend(input: { id: $id, amount: { amount: \"1\", currency: \"USD\" } }) { campaign { id } } }",
                        json!({ "id": a.campaign }),
                    ),
                    (
                        "mutation($id: ID!, $lead: ID!) { addLeadsToCampaign(input: { campaignId: $id, leadIds: [$lead] }) { changedCount } }",
                        json!({ "id": a.campaign, "lead": b.lead }),
                    ),
                    (
                        "mutation($id: ID!, $lead: ID!) { removeLeadsFromCampaign(input: { campaignId: $id, leadIds: [$lead] }) { changedCount } }",
                        json!({ "id": a.campaign, "lead": a.lead }),
                    ),
                ]
            },
        },
        Registration {
            table: "campaign_members",
            // Reached through their campaign.
            ids: no_ids,
            attacks: |a, _| {
                vec![(
                    "mutation($id: ID!, $lead: ID!) { updateCampaignMember(input: { campaignId: $id, leadId: $lead, status: CONTACTED }) { member { status } } }",
                    json!({ "id": a.campaign, "lead": a.lead }),
                )]
            },
        },
        Registration {
            table: "segments",
            ids: |a| vec![a.segment.clone()],
            attacks: |a, _| {
                vec![
                    (
                        "mutation($id: ID!) { updateSegment(input: { id: $id, name: \"Pwned\" }) { segment { id } } }",
                        json!({ "id": a.segment }),
                    ),
                    (
                        "mutation($id: ID!) { deleteSegment(input: { id: $id }) { deletedSegmentId } }",
                        json!({ "id": a.segment }),
                    ),
                ]
            },
        },
        Registration {
            table: "scoring_rules",
            ids: |a| vec![a.rule.clone()],
            attacks: |a, _| {
                vec![
                    (
                        "mutation($id: ID!) { updateScoringRule(input: { id: $id, points: 99 }) { rule { id } } }",
                        json!({ "id": a.rule }),
                    ),
                    (
                        "mutation($id: ID!) { deleteScoringRule(input: { id: $id }) { deletedRuleId } }",
                        json!({ "id": a.rule }),
                    ),
                    (
                        "mutation($id: ID!) { rescoreLeads(input: { ruleId: $id }) { changed } }",
                        json!({ "id": a.rule }),
                    ),
                ]
            },
        },
        Registration {
            table: "scoring_jobs",
            ids: |a| vec![a.job.clone()],
            // No mutation takes a job: `rescoreLeads` makes them.
            attacks: no_attacks,
        },
        Registration {
            table: "lead_score_changes",
            // Written by scoring only; read through the lead.
            ids: no_ids,
            attacks: no_attacks,
        },
        Registration {
            table: "events",
            // Written by triggers only; read through subscriptions (tests/api/events.rs).
            ids: no_ids,
            attacks: no_attacks,
        },
        Registration {
            table: "event_streams",
            ids: no_ids,
            attacks: no_attacks,
        },
        Registration {
            table: "webhook_endpoints",
            ids: |a| vec![a.endpoint.clone()],
            attacks: |a, _| {
                vec![
                    (
                        "mutation($id: ID!) { updateWebhookEndpoint(input: { id: $id, isActive: true }) { endpoint { id } } }",
                        json!({ "id": a.endpoint }),
                    ),
                    (
                        "mutation($id: ID!) { deleteWebhookEndpoint(input: { id: $id }) { deletedId } }",
                        json!({ "id": a.endpoint }),
                    ),
                ]
            },
        },
        Registration {
            table: "webhook_deliveries",
            ids: |a| vec![a.delivery.clone()],
            attacks: |a, _| {
                vec![(
                    "mutation($id: ID!) { redeliverWebhook(input: { deliveryId: $id }) { delivery { id } } }",
                    json!({ "id": a.delivery }),
                )]
            },
        },
        Registration {
            table: "webhook_attempts",
            // Read through their delivery only; written by the delivery worker.
            ids: no_ids,
            attacks: no_attacks,
        },
    ]
}

fn tenant_tables() -> Vec<&'static str> {
    registry().iter().map(|r| r.table).collect()
}

/// Tenant A with a row in every tenant table, and the ids of its CRM rows.
struct Seeded {
    tenant: Tenant,
    company: String,
    lead: String,
    deleted_lead: String,
    activity: String,
    note: String,
    api_key: String,
    audit_log: String,
    endpoint: String,
    delivery: String,
    stage: String,
    partner: String,
    deal: String,
    deleted_deal: String,
    campaign: String,
    segment: String,
    rule: String,
    job: String,
}

async fn seed(app: &TestApp, slug: &str) -> Seeded {
    let tenant = app.sign_up(slug).await;
    // A scoring rule the lead below meets: its score changes, so it has a score history.
    let vip = json!({ "field": "LEAD_TAGS", "operator": "CONTAINS", "values": ["vip"] });
    let rule = tenant
        .create(
            app,
            "ScoringRule",
            "rule",
            json!({ "name": "VIPs", "ruleType": "ENGAGEMENT", "points": 20, "conditions": [vip] }),
        )
        .await;
    let company = tenant.create_company(app, "Initech").await;
    // Assigned: its assignment history has a row.
    let lead = tenant
        .create_lead(
            app,
            json!({ "companyId": company, "tags": ["vip"], "assignedToId": tenant.owner.user_id }),
        )
        .await;
    let deleted_lead = tenant.create_lead(app, json!({})).await;
    tenant.delete_lead(app, &deleted_lead).await;
    let activity = tenant.log_activity(app, &lead).await;
    let note = tenant.add_note(app, &lead, false).await;
    let (api_key, _) = tenant.api_key(app, &["READ"]).await;
    // A deal of the lead, with its partner, moved once (two stage changes), and a deleted one.
    let stages = tenant.stages(app).await;
    let partner = tenant
        .create(
            app,
            "Partner",
            "partner",
            json!({ "companyName": "Shield", "contactName": "Pat", "email": format!("pat@{slug}.test") }),
        )
        .await;
    let deal = tenant
        .create_deal(app, json!({ "leadId": lead, "partnerId": partner }))
        .await;
    app.gql(
        tenant.token(),
        "mutation($id: ID!, $stage: ID!) { moveDeal(input: { id: $id, stageId: $stage }) { deal { id } } }",
        json!({ "id": deal, "stage": stages[1]["id"] }),
    )
    .await
    .ok();
    // A campaign with the lead as its member.
    let campaign = tenant.campaign_of(app, "Q1 outreach", &[&lead]).await;
    let segment = tenant
        .create(
            app,
            "Segment",
            "segment",
            json!({ "name": "VIPs", "filter": { "tagsAny": ["vip"] } }),
        )
        .await;
    let deleted_deal = tenant.create_deal(app, json!({})).await;
    app.gql(
        tenant.token(),
        "mutation($id: ID!) { deleteDeal(input: { id: $id }) { deal { id } } }",
        json!({ "id": deleted_deal }),
    )
    .await
    .ok();
    // A disabled endpoint with one delivery and one attempt, written directly: the worker
    // would keep changing live ones while the tests compare snapshots. And a round-robin
    // counter, as lead creations under auto-assignment leave one.
    app.owner_sql(
        tenant.organization_id,
        &format!(
            "WITH endpoint AS (
                 INSERT INTO webhook_endpoints (organization_id, url, signing_secret, is_active)
                 VALUES ('{org}', 'https://hooks.{slug}.test/lead', 'whsec_c2VjcmV0', false)
                 RETURNING id
             ), delivery AS (
                 INSERT INTO webhook_deliveries
                     (organization_id, endpoint_id, event_position, event_kind, subject_type,
                      subject_id)
                 SELECT '{org}', endpoint.id, e.position, e.kind, e.subject_type, e.subject_id
                 FROM endpoint, events e WHERE e.organization_id = '{org}' AND e.position = 1
                 RETURNING id
             ), attempt AS (
                 INSERT INTO webhook_attempts
                     (organization_id, delivery_id, status_code, duration_ms)
                 SELECT '{org}', id, 500, 12 FROM delivery
             )
             INSERT INTO lead_assignment_turns (organization_id, turn) VALUES ('{org}', 3);
             INSERT INTO scoring_jobs (organization_id, total, state) VALUES ('{org}', 0, 'done')",
            org = tenant.organization_id,
        ),
    )
    .await;
    let org = tenant.organization_id;
    let first_id = |rows: Vec<Value>| Uuid::parse_str(rows[0]["id"].as_str().unwrap()).unwrap();
    let audit_log = NodeKind::AuditLog
        .id(first_id(app.snapshot(org, "audit_logs").await))
        .0;
    let endpoint = NodeKind::WebhookEndpoint
        .id(first_id(app.snapshot(org, "webhook_endpoints").await))
        .0;
    let job = NodeKind::ScoringJob
        .id(first_id(app.snapshot(org, "scoring_jobs").await))
        .0;
    let delivery = NodeKind::WebhookDelivery
        .id(first_id(app.snapshot(org, "webhook_deliveries").await))
        .0;
    Seeded {
        tenant,
        company,
        lead,
        deleted_lead,
        activity,
        note,
        api_key,
        audit_log,
        endpoint,
        delivery,
        stage: stages[0]["id"].as_str().unwrap().to_owned(),
        partner,
        deal,
        deleted_deal,
        campaign,
        segment,
        rule,
        job,
    }
}

async fn snapshot_all(app: &TestApp, organization: Uuid) -> Vec<Vec<serde_json::Value>> {
    let mut tables = Vec::new();
    for table in tenant_tables() {
        tables.push(app.snapshot(organization, table).await);
    }
    tables
}

#[tokio::test]
async fn the_matrix_covers_every_tenant_table_in_the_catalog() {
    let app = TestApp::spawn().await;
    let db = app.admin_db().await;
    let rows = db
        .query_all_raw(Statement::from_string(
            db.get_database_backend(),
            "SELECT c.relname::text FROM pg_class c
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'organization_id'
                                AND NOT a.attisdropped
             WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'p')
             UNION SELECT 'organizations' ORDER BY 1",
        ))
        .await
        .unwrap();
    let catalog: Vec<String> = rows
        .iter()
        .map(|row| row.try_get_by_index(0).unwrap())
        .collect();
    let mut registered = tenant_tables();
    registered.sort_unstable();
    assert_eq!(
        catalog, registered,
        "tenant tables in the catalog vs the isolation registry: register each new table in \
         `registry()` (its ids and the mutations to attempt) and give `seed` a row of it"
    );
}

#[tokio::test]
async fn tenant_b_sees_nothing_of_tenant_a_through_graphql() {
    let app = TestApp::spawn().await;
    let a = seed(&app, "acme").await;
    let b = seed(&app, "globex").await;
    let before = snapshot_all(&app, a.tenant.organization_id).await;
    assert!(
        before.iter().all(|rows| !rows.is_empty()),
        "tenant A has a row in every table"
    );

    let lists = app
        .gql(
            b.tenant.token(),
            "{ leads { totalCount nodes { id } } trash: leads(filter: { deleted: true }) { nodes { id } }
               companies { totalCount nodes { id } } users { totalCount nodes { id } }
               apiKeys { nodes { id } } auditLogs(first: 100) { nodes { resourceId } }
               organization { slug } me { email } }",
            json!({}),
        )
        .await;
    let data = lists.ok();
    let text = data.to_string();
    for id in [
        &a.lead,
        &a.deleted_lead,
        &a.company,
        &a.api_key,
        &a.tenant.owner.user_id,
    ] {
        assert!(!text.contains(id.as_str()), "B's lists contain A's {id}");
    }
    assert!(!text.contains(&uuid_of(&a.lead).to_string()));
    assert_eq!(data["leads"]["totalCount"], 1);
    assert_eq!(data["companies"]["totalCount"], 1);
    assert_eq!(data["users"]["totalCount"], 1);
    assert_eq!(data["organization"]["slug"], "globex");

    let ids: Vec<(&str, String)> = registry()
        .iter()
        .flat_map(|r| (r.ids)(&a).into_iter().map(move |id| (r.table, id)))
        .collect();
    // Every kind of global id is tried: a new node type without a registered row fails here.
    let mut kinds: Vec<NodeKind> = ids
        .iter()
        .map(|(_, id)| {
            leadgraph::graphql::decode_any(&id.as_str().into())
                .unwrap()
                .0
        })
        .collect();
    kinds.dedup();
    for kind in NodeKind::ALL {
        assert!(
            kinds.contains(kind),
            "no row of {kind:?} in the registry's ids"
        );
    }
    for (table, id) in ids {
        let query = "query($id: ID!) { node(id: $id) { id } }";
        let variables = json!({ "id": id });
        let as_b = app.gql(b.tenant.token(), query, variables.clone()).await;
        assert_eq!(
            as_b.at("/node"),
            &Value::Null,
            "node({id}) of {table} leaked"
        );
        // A finds it: B's null is isolation, not an id that names nothing.
        let as_a = app.gql(a.tenant.token(), query, variables).await;
        assert_eq!(as_a.at("/node/id"), &json!(id), "{table}");
    }
    let typed = app
        .gql(
            b.tenant.token(),
            "query($lead: ID!, $company: ID!) { lead(id: $lead) { id } company(id: $company) { id } }",
            json!({ "lead": a.lead, "company": a.company }),
        )
        .await;
    assert_eq!(typed.at("/lead"), &serde_json::Value::Null);
    assert_eq!(typed.at("/company"), &serde_json::Value::Null);

    assert_eq!(before, snapshot_all(&app, a.tenant.organization_id).await);
}

#[tokio::test]
async fn tenant_b_cannot_change_or_reference_tenant_a_rows_through_graphql() {
    let app = TestApp::spawn().await;
    let a = seed(&app, "acme").await;
    let b = seed(&app, "globex").await;
    let before = snapshot_all(&app, a.tenant.organization_id).await;

    let attempts: Vec<(&str, &str, Value)> = registry()
        .iter()
        .flat_map(|r| {
            (r.attacks)(&a, &b)
                .into_iter()
                .map(move |(mutation, variables)| (r.table, mutation, variables))
        })
        .collect();
    assert!(attempts.len() >= 19, "{} attempts", attempts.len());
    for (table, mutation, variables) in attempts {
        let response = app.gql(b.tenant.token(), mutation, variables).await;
        assert_eq!(
            response.code(),
            "NOT_FOUND",
            "{table}: {mutation} -> {}",
            response.body
        );
    }
    assert_eq!(before, snapshot_all(&app, a.tenant.organization_id).await);
}

async fn count(db: &impl ConnectionTrait, table: &str) -> i64 {
    crate::support::scalar(db, format!("SELECT count(*) FROM {table}")).await
}

async fn set_tenant(db: &impl ConnectionTrait, organization: Uuid) {
    db.execute_unprepared(&format!(
        "SELECT set_config('app.current_organization_id', '{organization}', true)"
    ))
    .await
    .unwrap();
}

#[tokio::test]
async fn the_app_role_sees_no_rows_without_a_tenant() {
    let app = TestApp::spawn().await;
    seed(&app, "acme").await;
    let db: DatabaseConnection = app.app_db().await;
    for table in tenant_tables() {
        assert_eq!(
            count(&db, table).await,
            0,
            "{table} visible with no tenant set"
        );
    }
    // A pooled connection that once had a tenant set locally reads it back as '' afterwards.
    let tx = db.begin().await.unwrap();
    set_tenant(&tx, Uuid::new_v4()).await;
    tx.commit().await.unwrap();
    for table in tenant_tables() {
        assert_eq!(
            count(&db, table).await,
            0,
            "{table} visible after a tenant transaction ended"
        );
    }
}

#[tokio::test]
async fn the_app_role_cannot_read_change_or_write_into_another_tenant() {
    let app = TestApp::spawn().await;
    let a = seed(&app, "acme").await;
    let b = seed(&app, "globex").await;
    let before = snapshot_all(&app, a.tenant.organization_id).await;
    let db = app.app_db().await;
    let a_org = a.tenant.organization_id;
    let a_lead = uuid_of(&a.lead);
    let a_company = uuid_of(&a.company);

    let tx = db.begin().await.unwrap();
    set_tenant(&tx, b.tenant.organization_id).await;
    for table in tenant_tables() {
        let key = if table == "organizations" {
            "id"
        } else {
            "organization_id"
        };
        let visible = count(&tx, &format!("{table} WHERE {key} = '{a_org}'")).await;
        assert_eq!(visible, 0, "B sees A's {table}");
    }
    let changed = tx
        .execute_unprepared(&format!("UPDATE leads SET score = 1 WHERE id = '{a_lead}'"))
        .await
        .unwrap();
    assert_eq!(changed.rows_affected(), 0);
    let deleted = tx
        .execute_unprepared(&format!("DELETE FROM companies WHERE id = '{a_company}'"))
        .await
        .unwrap();
    assert_eq!(deleted.rows_affected(), 0);
    tx.commit().await.unwrap();

    // Writing a row that claims A's organization fails the policy's WITH CHECK.
    let tx = db.begin().await.unwrap();
    set_tenant(&tx, b.tenant.organization_id).await;
    let insert = tx
        .execute_unprepared(&format!(
            "INSERT INTO companies (organization_id, name) VALUES ('{a_org}', 'Trojan')"
        ))
        .await;
    assert!(
        insert
            .unwrap_err()
            .to_string()
            .contains("row-level security")
    );
    tx.rollback().await.unwrap();

    // Referencing A's company from B's lead fails the composite foreign key.
    let tx = db.begin().await.unwrap();
    set_tenant(&tx, b.tenant.organization_id).await;
    let reference = tx
        .execute_unprepared(&format!(
            "INSERT INTO leads (organization_id, first_name, last_name, email, company_id)
             VALUES ('{}', 'X', 'Y', 'x@y.io', '{a_company}')",
            b.tenant.organization_id
        ))
        .await;
    assert!(reference.unwrap_err().to_string().contains("foreign key"));
    tx.rollback().await.unwrap();

    // Moving B's own lead into A is refused too.
    let tx = db.begin().await.unwrap();
    set_tenant(&tx, b.tenant.organization_id).await;
    let moved = tx
        .execute_unprepared(&format!(
            "UPDATE leads SET organization_id = '{a_org}' WHERE id = '{}'",
            uuid_of(&b.lead)
        ))
        .await;
    assert!(moved.is_err());
    tx.rollback().await.unwrap();

    assert_eq!(before, snapshot_all(&app, a.tenant.organization_id).await);
}

/// What a statement did as the app role.
#[derive(Debug, PartialEq)]
enum Outcome {
    /// The role may not run it at all.
    Denied,
    Changed(u64),
    /// A foreign key kept the rows it reached (a stage its deals still name): only rows the
    /// statement could see can violate one.
    Kept,
}

/// What `sql` does as the app role in a transaction of `tenant`'s owner (rolled back).
async fn rows_changed(db: &DatabaseConnection, tenant: &Tenant, sql: &str) -> Outcome {
    let tx = db.begin().await.unwrap();
    set_tenant(&tx, tenant.organization_id).await;
    tx.execute_unprepared(&format!(
        "SELECT set_config('app.current_user_id', '{}', true)",
        uuid_of(&tenant.owner.user_id)
    ))
    .await
    .unwrap();
    let outcome = tx.execute_unprepared(sql).await;
    tx.rollback().await.unwrap();
    match outcome {
        Ok(done) => Outcome::Changed(done.rows_affected()),
        Err(err) if err.to_string().contains("permission denied") => Outcome::Denied,
        Err(err) if err.to_string().contains("violates foreign key constraint") => Outcome::Kept,
        Err(err) => panic!("{sql}: {err}"),
    }
}

#[tokio::test]
async fn no_tenant_table_lets_another_tenant_update_or_delete_its_rows() {
    let app = TestApp::spawn().await;
    let a = seed(&app, "acme").await;
    let b = seed(&app, "globex").await;
    let a_org = a.tenant.organization_id;
    let before = snapshot_all(&app, a_org).await;
    assert!(
        before.iter().all(|rows| !rows.is_empty()),
        "A has a row in every tenant table, so each refusal below refuses something"
    );
    let db = app.app_db().await;
    for table in tenant_tables() {
        let key = if table == "organizations" {
            "id"
        } else {
            "organization_id"
        };
        for sql in [
            format!("UPDATE {table} SET {key} = {key} WHERE {key} = '{a_org}'"),
            format!("DELETE FROM {table} WHERE {key} = '{a_org}'"),
        ] {
            let as_b = rows_changed(&db, &b.tenant, &sql).await;
            assert!(
                matches!(as_b, Outcome::Denied | Outcome::Changed(0)),
                "as B: {sql} changed {as_b:?}"
            );
            // The same statement as A reaches A's rows wherever the role may run it at all:
            // B's zero is the policy's doing, not a statement that matches nothing.
            let as_a = rows_changed(&db, &a.tenant, &sql).await;
            assert_ne!(as_a, Outcome::Changed(0), "as A: {sql}");
        }
    }
    assert_eq!(before, snapshot_all(&app, a_org).await);
}

#[tokio::test]
async fn private_notes_are_visible_to_their_author_only() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let lead = acme.create_lead(&app, json!({})).await;
    acme.add_note(&app, &lead, true).await;
    acme.add_note(&app, &lead, false).await;
    let colleague = acme.add_user(&app, "MANAGER").await;
    let query = "query($id: ID!) { lead(id: $id) { notes { totalCount nodes { isPrivate } } } }";
    let mine = app.gql(acme.token(), query, json!({ "id": lead })).await;
    assert_eq!(mine.at("/lead/notes/totalCount"), 2);
    let theirs = app
        .gql(Some(&colleague.access_token), query, json!({ "id": lead }))
        .await;
    assert_eq!(theirs.at("/lead/notes/totalCount"), 1);
    assert_eq!(theirs.at("/lead/notes/nodes/0/isPrivate"), false);
}

#[tokio::test]
async fn the_app_role_can_neither_forge_nor_rewrite_the_event_log() {
    let app = TestApp::spawn().await;
    let a = seed(&app, "acme").await;
    let b = seed(&app, "globex").await;
    let before = snapshot_all(&app, a.tenant.organization_id).await;
    let db = app.app_db().await;
    let a_org = a.tenant.organization_id;
    let attempts = [
        format!(
            "INSERT INTO events (organization_id, position, subject_type, subject_id, kind)
             VALUES ('{}', 999, 'lead', '{}', 'created')",
            b.tenant.organization_id,
            uuid_of(&b.lead)
        ),
        "UPDATE events SET kind = 'deleted'".to_owned(),
        "DELETE FROM events".to_owned(),
        "UPDATE event_streams SET head = 0".to_owned(),
        format!(
            "SELECT append_events('{a_org}',
                ARRAY[ROW('lead', '{}', 'created', '{{}}', NULL, NULL)::event_draft])",
            uuid_of(&a.lead)
        ),
    ];
    for attempt in attempts {
        let tx = db.begin().await.unwrap();
        set_tenant(&tx, b.tenant.organization_id).await;
        let result = tx.execute_unprepared(&attempt).await;
        assert!(
            result
                .unwrap_err()
                .to_string()
                .contains("permission denied"),
            "{attempt}"
        );
        tx.rollback().await.unwrap();
    }
    assert_eq!(before, snapshot_all(&app, a.tenant.organization_id).await);
}

#[tokio::test]
async fn the_app_role_cannot_change_or_reference_another_tenants_webhooks() {
    let app = TestApp::spawn().await;
    let a = seed(&app, "acme").await;
    let b = seed(&app, "globex").await;
    let before = snapshot_all(&app, a.tenant.organization_id).await;
    let (a_org, b_org) = (a.tenant.organization_id, b.tenant.organization_id);
    let id_of = |rows: &[serde_json::Value]| rows[0]["id"].as_str().unwrap().to_owned();
    let a_endpoint = id_of(&app.snapshot(a_org, "webhook_endpoints").await);
    let a_delivery = id_of(&app.snapshot(a_org, "webhook_deliveries").await);
    let b_endpoint = id_of(&app.snapshot(b_org, "webhook_endpoints").await);
    let db = app.app_db().await;

    let tx = db.begin().await.unwrap();
    set_tenant(&tx, b_org).await;
    for (sql, what) in [
        (
            format!(
                "UPDATE webhook_endpoints SET url = 'https://evil.test/' WHERE id = '{a_endpoint}'"
            ),
            "update A's endpoint",
        ),
        (
            format!("DELETE FROM webhook_endpoints WHERE id = '{a_endpoint}'"),
            "delete A's endpoint",
        ),
        (
            format!("UPDATE webhook_deliveries SET status = 'pending' WHERE id = '{a_delivery}'"),
            "requeue A's delivery",
        ),
    ] {
        let changed = tx.execute_unprepared(&sql).await.unwrap();
        assert_eq!(changed.rows_affected(), 0, "{what}");
    }
    tx.commit().await.unwrap();

    // B's rows cannot point at A's: the composite keys include the tenant.
    for (sql, refusal) in [
        (
            format!(
                "INSERT INTO webhook_deliveries (organization_id, endpoint_id, event_position, event_kind, subject_type, subject_id)
                 VALUES ('{b_org}', '{a_endpoint}', 1, 'created', 'lead', '{}')",
                uuid_of(&b.lead)
            ),
            "foreign key",
        ),
        (
            format!(
                "INSERT INTO webhook_attempts (organization_id, delivery_id, duration_ms)
                 VALUES ('{b_org}', '{a_delivery}', 1)"
            ),
            "foreign key",
        ),
        (
            format!(
                "INSERT INTO webhook_deliveries (organization_id, endpoint_id, event_position, event_kind, subject_type, subject_id)
                 VALUES ('{a_org}', '{b_endpoint}', 1, 'created', 'lead', '{}')",
                uuid_of(&a.lead)
            ),
            "row-level security",
        ),
    ] {
        let tx = db.begin().await.unwrap();
        set_tenant(&tx, b_org).await;
        let result = tx.execute_unprepared(&sql).await;
        assert!(
            result.unwrap_err().to_string().contains(refusal),
            "{sql}"
        );
        tx.rollback().await.unwrap();
    }
    assert_eq!(before, snapshot_all(&app, a_org).await);
}

/// Runs `sql` as the app role in a transaction with `organization` and `user` set, and says
/// how many rows it changed; rolled back.
async fn changed_as(db: &DatabaseConnection, organization: Uuid, user: Uuid, sql: &str) -> u64 {
    let tx = db.begin().await.unwrap();
    set_tenant(&tx, organization).await;
    tx.execute_unprepared(&format!(
        "SELECT set_config('app.current_user_id', '{user}', true)"
    ))
    .await
    .unwrap();
    let changed = tx
        .execute_unprepared(sql)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .rows_affected();
    tx.rollback().await.unwrap();
    changed
}

#[tokio::test]
async fn a_colleague_can_read_but_not_rewrite_or_delete_a_public_note_at_sql_level() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let lead = acme.create_lead(&app, json!({})).await;
    let note = uuid_of(&acme.add_note(&app, &lead, false).await);
    let colleague = uuid_of(&acme.add_user(&app, "MANAGER").await.user_id);
    let author = uuid_of(&acme.owner.user_id);
    let org = acme.organization_id;
    let before = app.snapshot(org, "lead_notes").await;
    let db = app.app_db().await;

    let visible = {
        let tx = db.begin().await.unwrap();
        set_tenant(&tx, org).await;
        let n = count(&tx, &format!("lead_notes WHERE id = '{note}'")).await;
        tx.rollback().await.unwrap();
        n
    };
    assert_eq!(visible, 1, "a public note is readable by the tenant");
    let take_over = format!("UPDATE lead_notes SET author_id = '{colleague}' WHERE id = '{note}'");
    assert_eq!(changed_as(&db, org, colleague, &take_over).await, 0);
    for sql in [
        format!("UPDATE lead_notes SET content = 'rewritten' WHERE id = '{note}'"),
        format!("DELETE FROM lead_notes WHERE id = '{note}'"),
    ] {
        assert_eq!(changed_as(&db, org, colleague, &sql).await, 0, "{sql}");
        // The same statement works for the author: the policy, not the SQL, refused it.
        assert_eq!(changed_as(&db, org, author, &sql).await, 1, "{sql}");
    }
    assert_eq!(before, app.snapshot(org, "lead_notes").await);
}

#[tokio::test]
async fn a_webhook_delivery_cannot_name_another_tenants_lead() {
    let app = TestApp::spawn().await;
    let a = seed(&app, "acme").await;
    let b = seed(&app, "globex").await;
    let b_org = b.tenant.organization_id;
    let b_endpoint = app.snapshot(b_org, "webhook_endpoints").await[0]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let db = app.app_db().await;
    let insert = |lead: Uuid| {
        format!(
            "INSERT INTO webhook_deliveries (organization_id, endpoint_id, event_position, event_kind, subject_type, subject_id)
             VALUES ('{b_org}', '{b_endpoint}', 2, 'created', 'lead', '{lead}')"
        )
    };

    // B's own endpoint and event, but A's lead: the composite key refuses it.
    let tx = db.begin().await.unwrap();
    set_tenant(&tx, b_org).await;
    let result = tx.execute_unprepared(&insert(uuid_of(&a.lead))).await;
    assert!(
        result.unwrap_err().to_string().contains("foreign key"),
        "a delivery naming A's lead was stored"
    );
    tx.rollback().await.unwrap();

    // The same row naming B's lead is accepted.
    let tx = db.begin().await.unwrap();
    set_tenant(&tx, b_org).await;
    tx.execute_unprepared(&insert(uuid_of(&b.lead)))
        .await
        .unwrap();
    tx.rollback().await.unwrap();
}

#[tokio::test]
async fn the_app_role_cannot_shorten_event_retention() {
    let app = TestApp::spawn().await;
    let a = seed(&app, "acme").await;
    let org = a.tenant.organization_id;
    let before = app.snapshot(org, "events").await;
    let db = app.app_db().await;

    for keep in ["-100 years", "0", "23 hours 59 minutes"] {
        let result = db
            .execute_unprepared(&format!("SELECT prune_events('{keep}')"))
            .await;
        assert!(
            result
                .unwrap_err()
                .to_string()
                .contains("retention must be at least 1 day"),
            "{keep}"
        );
    }
    assert!(
        leadgraph::events::prune_expired(&db, std::time::Duration::ZERO)
            .await
            .is_err()
    );
    // The shortest allowed retention keeps everything that is not a day old.
    let removed =
        leadgraph::events::prune_expired(&db, std::time::Duration::from_secs(86_400)).await;
    assert_eq!(removed.unwrap(), 0);
    assert_eq!(before, app.snapshot(org, "events").await);
}

/// The first column of the first row `sql` returns, as the app role with no tenant set.
async fn scalar_as_app(db: &DatabaseConnection, sql: &str) -> Result<String, sea_orm::DbErr> {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await?
        .expect("a row");
    row.try_get_by_index(0)
}

#[tokio::test]
async fn pre_authentication_functions_take_secrets_not_their_stored_hashes() {
    let app = TestApp::spawn().await;
    let acme = app.sign_up("acme").await;
    let (_, key) = acme.api_key(&app, &["READ"]).await;
    let prefix = key.split('_').nth(1).unwrap();
    let token = &acme.owner.refresh_token;
    let db = app.app_db().await;
    // What a leaked backup holds: SHA-256 of the secret.
    let hash = |secret: &str| format!("sha256(convert_to('{secret}', 'UTF8'))");

    let old_signature = scalar_as_app(
        &db,
        &format!(
            "SELECT outcome FROM auth_rotate_refresh_token({}, {}, now() + interval '1 day')",
            hash(token),
            hash("new")
        ),
    )
    .await;
    assert!(
        old_signature
            .unwrap_err()
            .to_string()
            .contains("does not exist")
    );
    let hex = |secret: &str| format!("encode({}, 'hex')", hash(secret));
    let rotate = |presented: String| {
        format!(
            "SELECT outcome FROM auth_rotate_refresh_token({presented}, 'a-new-token', now() + interval '1 day')"
        )
    };
    assert_eq!(
        scalar_as_app(&db, &rotate(hex(token))).await.unwrap(),
        "invalid"
    );
    let keys = |presented: String| {
        format!("SELECT count(*)::text FROM auth_api_key('{prefix}', {presented})")
    };
    assert_eq!(scalar_as_app(&db, &keys(hex(&key))).await.unwrap(), "0");
    // The secrets themselves still work, so the stored hashes were computed alike.
    assert_eq!(
        scalar_as_app(&db, &keys(format!("'{key}'"))).await.unwrap(),
        "1"
    );
    assert_eq!(
        scalar_as_app(&db, &rotate(format!("'{token}'")))
            .await
            .unwrap(),
        "ok"
    );

    // A token PostgreSQL text cannot carry is refused as a credential, not a server error.
    let refused = app
        .gql(
            None,
            "mutation($input: RefreshSessionInput!) { refreshSession(input: $input) { accessToken } }",
            json!({ "input": { "refreshToken": "abc\u{0}def" } }),
        )
        .await;
    assert!(
        ["UNAUTHENTICATED", "BAD_USER_INPUT"].contains(&refused.code()),
        "{}",
        refused.body
    );
}
