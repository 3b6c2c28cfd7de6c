//! Identity and platform tables: organizations (the tenants), users, refresh tokens, API keys
//! and the audit log.

use sea_orm_migration::prelude::*;

use crate::{rls::TenantTable, run_sql};

#[derive(DeriveMigrationName)]
pub struct Migration;

const TABLES: &str = r#"
CREATE TABLE organizations (
    id          uuid PRIMARY KEY,
    name        text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 200),
    -- Globally unique: logins name their organization by slug.
    slug        text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$'),
    plan        text NOT NULL DEFAULT 'free'
                CHECK (plan IN ('free', 'starter', 'professional', 'enterprise')),
    lead_quota  integer CHECK (lead_quota >= 0),
    settings    jsonb NOT NULL DEFAULT '{}'::jsonb CHECK (jsonb_typeof(settings) = 'object'),
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    -- Stored lower-cased; unique per organization only.
    email           text NOT NULL CHECK (char_length(email) <= 254 AND email = lower(email)),
    full_name       text NOT NULL CHECK (char_length(full_name) BETWEEN 1 AND 200),
    password_hash   text NOT NULL,
    role            text NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'agent', 'viewer')),
    is_active       boolean NOT NULL DEFAULT true,
    timezone        text NOT NULL DEFAULT 'UTC' CHECK (char_length(timezone) <= 64),
    mfa_enabled     boolean NOT NULL DEFAULT false,
    last_login_at   timestamptz,
    login_count     integer NOT NULL DEFAULT 0,
    deactivated_at  timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    UNIQUE (organization_id, email)
);

-- Opaque refresh tokens, stored as SHA-256. A login starts a family; every rotation adds a row
-- to it; presenting a rotated token again revokes the whole family.
CREATE TABLE refresh_tokens (
    organization_id uuid NOT NULL,
    id              uuid NOT NULL DEFAULT gen_random_uuid(),
    user_id         uuid NOT NULL,
    family_id       uuid NOT NULL,
    token_hash      bytea NOT NULL,
    expires_at      timestamptz NOT NULL,
    rotated_at      timestamptz,
    revoked_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    UNIQUE (organization_id, token_hash),
    FOREIGN KEY (organization_id, user_id) REFERENCES users (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX refresh_tokens_token_hash ON refresh_tokens (token_hash);
CREATE INDEX refresh_tokens_family ON refresh_tokens (organization_id, family_id);

-- API keys: only a SHA-256 of the secret and a short public prefix are kept.
CREATE TABLE api_keys (
    organization_id     uuid NOT NULL,
    id                  uuid NOT NULL DEFAULT gen_random_uuid(),
    name                text NOT NULL CHECK (char_length(name) BETWEEN 1 AND 100),
    prefix              text NOT NULL CHECK (char_length(prefix) BETWEEN 8 AND 32),
    key_hash            bytea NOT NULL,
    scopes              text[] NOT NULL
                        CHECK (cardinality(scopes) > 0 AND scopes <@ ARRAY['read', 'write']),
    -- The key acts on behalf of the user who created it.
    created_by          uuid NOT NULL,
    rate_limit_per_hour integer NOT NULL DEFAULT 1000 CHECK (rate_limit_per_hour > 0),
    usage_count         bigint NOT NULL DEFAULT 0,
    last_used_at        timestamptz,
    expires_at          timestamptz,
    revoked_at          timestamptz,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    UNIQUE (organization_id, prefix),
    FOREIGN KEY (organization_id, created_by) REFERENCES users (organization_id, id)
);
CREATE INDEX api_keys_prefix ON api_keys (prefix);
CREATE INDEX api_keys_listing ON api_keys (organization_id, created_at DESC, id DESC);

-- Append-only: the app role may insert and read, never change or delete.
CREATE TABLE audit_logs (
    organization_id   uuid NOT NULL,
    id                uuid NOT NULL DEFAULT gen_random_uuid(),
    actor_user_id     uuid,
    actor_api_key_id  uuid,
    action            text NOT NULL CHECK (char_length(action) <= 100),
    resource_type     text NOT NULL CHECK (char_length(resource_type) <= 100),
    resource_id       uuid,
    ip_address        inet,
    user_agent        text CHECK (char_length(user_agent) <= 500),
    request_id        text CHECK (char_length(request_id) <= 100),
    changes           jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (organization_id, id),
    FOREIGN KEY (organization_id, actor_user_id) REFERENCES users (organization_id, id),
    FOREIGN KEY (organization_id, actor_api_key_id) REFERENCES api_keys (organization_id, id)
);
CREATE INDEX audit_logs_listing ON audit_logs (organization_id, created_at DESC, id DESC);
"#;

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let policies = [
            // Sign-up inserts its own organization once the tenant is set to the new id.
            TenantTable::new("organizations", "SELECT, INSERT, UPDATE").tenant_column("id"),
            TenantTable::new("users", "SELECT, INSERT, UPDATE"),
            TenantTable::new("refresh_tokens", "SELECT, INSERT, UPDATE").without_updated_at(),
            TenantTable::new("api_keys", "SELECT, INSERT, UPDATE"),
            TenantTable::new("audit_logs", "SELECT, INSERT").without_updated_at(),
        ]
        .iter()
        .map(TenantTable::sql)
        .collect::<String>();
        run_sql(manager, &format!("{TABLES}\n{policies}")).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        run_sql(
            manager,
            "DROP TABLE audit_logs, api_keys, refresh_tokens, users, organizations;",
        )
        .await
    }
}
