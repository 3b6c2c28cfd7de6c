//! Builders: a tenant signed up through the API, its users, and its CRM data.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use serde_json::{Value, json};
use uuid::Uuid;

use super::TestApp;

pub const PASSWORD: &str = "correct horse battery staple";

/// A signed-in user.
#[derive(Clone, Debug)]
pub struct Session {
    pub email: String,
    pub user_id: String,
    pub access_token: String,
    pub refresh_token: String,
}

/// An organization created by `signUp`, with its owner's session.
#[derive(Clone, Debug)]
pub struct Tenant {
    pub slug: String,
    pub organization_id: Uuid,
    pub owner: Session,
}

/// `defaults` with the fields of `fields` set over them.
pub fn merged(mut defaults: Value, fields: Value) -> Value {
    defaults
        .as_object_mut()
        .unwrap()
        .extend(fields.as_object().cloned().unwrap_or_default());
    defaults
}

/// SQL that inserts the leads `Lead N<first>` to `Lead N<last>` (e-mail `lead<n>@example.com`)
/// into `organization`, for a test that needs many plain leads fast, before SQL of its own.
pub fn numbered_leads(organization: Uuid, first: usize, last: usize) -> String {
    format!(
        "INSERT INTO leads (organization_id, first_name, last_name, email)
         SELECT '{organization}', 'Lead', 'N' || n, 'lead' || n || '@example.com'
         FROM generate_series({first}, {last}) n;"
    )
}

/// The UUID inside a global id.
pub fn uuid_of(global_id: &str) -> Uuid {
    let raw = String::from_utf8(URL_SAFE_NO_PAD.decode(global_id).unwrap()).unwrap();
    raw.split_once(':').unwrap().1.parse().unwrap()
}

const AUTH_FIELDS: &str = "accessToken refreshToken user { id email } organization { id }";

fn session(payload: &Value) -> Session {
    Session {
        email: payload["user"]["email"].as_str().unwrap().to_owned(),
        user_id: payload["user"]["id"].as_str().unwrap().to_owned(),
        access_token: payload["accessToken"].as_str().unwrap().to_owned(),
        refresh_token: payload["refreshToken"].as_str().unwrap().to_owned(),
    }
}

impl TestApp {
    pub async fn sign_up(&self, slug: &str) -> Tenant {
        let response = self
            .gql(
                None,
                &format!(
                    "mutation($input: SignUpInput!) {{ signUp(input: $input) {{ {AUTH_FIELDS} }} }}"
                ),
                json!({ "input": {
                    "organizationName": format!("{slug} Inc"),
                    "organizationSlug": slug,
                    "email": format!("owner@{slug}.test"),
                    "password": PASSWORD,
                    "fullName": "Olive Owner",
                }}),
            )
            .await;
        let payload = &response.ok()["signUp"];
        Tenant {
            slug: slug.to_owned(),
            organization_id: uuid_of(payload["organization"]["id"].as_str().unwrap()),
            owner: session(payload),
        }
    }

    pub async fn login(&self, slug: &str, email: &str, password: &str) -> super::Gql {
        self.gql(
            None,
            &format!(
                "mutation($input: LoginInput!) {{ login(input: $input) {{ {AUTH_FIELDS} }} }}"
            ),
            json!({ "input": { "organizationSlug": slug, "email": email, "password": password } }),
        )
        .await
    }
}

impl Tenant {
    pub fn token(&self) -> Option<&str> {
        Some(&self.owner.access_token)
    }

    /// Adds a user of `role` (e.g. "AGENT") through the API and signs them in.
    pub async fn add_user(&self, app: &TestApp, role: &str) -> Session {
        let email = format!(
            "{}.{}@{}.test",
            role.to_lowercase(),
            Uuid::new_v4().simple(),
            self.slug
        );
        app.gql(
            self.token(),
            "mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } } }",
            json!({ "input": { "email": email, "fullName": "Test User", "password": PASSWORD, "role": role } }),
        )
        .await
        .ok();
        session(&app.login(&self.slug, &email, PASSWORD).await.ok()["login"])
    }

    pub async fn create_company(&self, app: &TestApp, name: &str) -> String {
        let response = app
            .gql(
                self.token(),
                "mutation($input: CreateCompanyInput!) { createCompany(input: $input) { company { id } } }",
                json!({ "input": { "name": name } }),
            )
            .await;
        response
            .at("/createCompany/company/id")
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Creates a lead; `fields` override the defaults (a unique e-mail, names).
    pub async fn create_lead(&self, app: &TestApp, fields: Value) -> String {
        let defaults = json!({
            "firstName": "Ada",
            "lastName": "Lovelace",
            "email": format!("lead.{}@example.com", Uuid::new_v4().simple()),
        });
        self.create(app, "Lead", "lead", merged(defaults, fields))
            .await
    }

    /// Runs `create<Object>(input: $input)` as the owner; the id of the object its payload
    /// gives as `field`.
    pub async fn create(&self, app: &TestApp, object: &str, field: &str, input: Value) -> String {
        let response = app
            .gql(
                self.token(),
                &format!(
                    "mutation($input: Create{object}Input!) {{
                        create{object}(input: $input) {{ {field} {{ id }} }} }}"
                ),
                json!({ "input": input }),
            )
            .await;
        response
            .at(&format!("/create{object}/{field}/id"))
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Creates an e-mail campaign named `name` with `leads` as its members.
    pub async fn campaign_of(&self, app: &TestApp, name: &str, leads: &[&str]) -> String {
        let input = json!({ "name": name, "type": "EMAIL" });
        let campaign = self.create(app, "Campaign", "campaign", input).await;
        app.gql(
            self.token(),
            "mutation($id: ID!, $leads: [ID!]!) {
                addLeadsToCampaign(input: { campaignId: $id, leadIds: $leads }) { changedCount } }",
            json!({ "id": campaign, "leads": leads }),
        )
        .await
        .ok();
        campaign
    }

    /// Creates `count` leads alike but for their e-mail, oldest first.
    pub async fn create_leads(&self, app: &TestApp, count: usize, fields: Value) -> Vec<String> {
        let mut leads = Vec::with_capacity(count);
        for _ in 0..count {
            leads.push(self.create_lead(app, fields.clone()).await);
        }
        leads
    }

    /// Changes a lead as the owner: `fields` are `UpdateLeadInput`'s, beside its id.
    pub async fn update_lead(&self, app: &TestApp, lead_id: &str, fields: Value) {
        let mut input = json!({ "id": lead_id });
        input
            .as_object_mut()
            .unwrap()
            .extend(fields.as_object().cloned().unwrap_or_default());
        app.gql(
            self.token(),
            "mutation($input: UpdateLeadInput!) { updateLead(input: $input) { lead { id } } }",
            json!({ "input": input }),
        )
        .await
        .ok();
    }

    /// Soft-deletes a lead as the owner.
    pub async fn delete_lead(&self, app: &TestApp, lead_id: &str) {
        app.gql(
            self.token(),
            "mutation($id: ID!) { deleteLead(input: { id: $id }) { lead { id } } }",
            json!({ "id": lead_id }),
        )
        .await
        .ok();
    }

    /// The pipeline's stages in order, as `{ id name }`.
    pub async fn stages(&self, app: &TestApp) -> Vec<Value> {
        let response = app
            .gql(self.token(), "{ pipelineStages { id name } }", json!({}))
            .await;
        response.at("/pipelineStages").as_array().unwrap().clone()
    }

    /// The id of the pipeline's stage named `name`.
    pub async fn stage_id(&self, app: &TestApp, name: &str) -> String {
        let stages = self.stages(app).await;
        let stage = stages.iter().find(|s| s["name"] == name);
        let stage = stage.unwrap_or_else(|| panic!("no stage {name}"));
        stage["id"].as_str().unwrap().to_owned()
    }

    /// Creates a deal as the owner; `fields` override the default title.
    pub async fn create_deal(&self, app: &TestApp, fields: Value) -> String {
        let defaults = json!({ "title": "Penetration test" });
        self.create(app, "Deal", "deal", merged(defaults, fields))
            .await
    }

    pub async fn log_activity(&self, app: &TestApp, lead_id: &str) -> String {
        let response = app
            .gql(
                self.token(),
                "mutation($input: LogActivityInput!) { logActivity(input: $input) { activity { id } } }",
                json!({ "input": { "leadId": lead_id, "kind": "CALL", "direction": "OUTBOUND", "subject": "Intro" } }),
            )
            .await;
        response
            .at("/logActivity/activity/id")
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn add_note(&self, app: &TestApp, lead_id: &str, private: bool) -> String {
        let response = app
            .gql(
                self.token(),
                "mutation($input: AddLeadNoteInput!) { addLeadNote(input: $input) { note { id } } }",
                json!({ "input": { "leadId": lead_id, "content": "Budget approved", "isPrivate": private } }),
            )
            .await;
        response
            .at("/addLeadNote/note/id")
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// Creates an API key with `scopes` (e.g. `["READ"]`) and returns its id and secret.
    pub async fn api_key(&self, app: &TestApp, scopes: &[&str]) -> (String, String) {
        let response = app
            .gql(
                self.token(),
                "mutation($input: CreateApiKeyInput!) { createApiKey(input: $input) { apiKey { id prefix } secret } }",
                json!({ "input": { "name": "integration", "scopes": scopes } }),
            )
            .await;
        let payload = &response.ok()["createApiKey"];
        (
            payload["apiKey"]["id"].as_str().unwrap().to_owned(),
            payload["secret"].as_str().unwrap().to_owned(),
        )
    }
}
