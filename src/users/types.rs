use async_graphql::{ID, Object};
use chrono::{DateTime, Utc};
use entity::users;

use crate::{graphql::NodeKind, tenancy::Role};

pub struct User(pub users::Model);

#[Object]
impl User {
    pub async fn id(&self) -> ID {
        NodeKind::User.id(self.0.id)
    }
    async fn email(&self) -> &str {
        &self.0.email
    }
    async fn full_name(&self) -> &str {
        &self.0.full_name
    }
    async fn role(&self) -> async_graphql::Result<Role> {
        Ok(Role::from_db(&self.0.role)?)
    }
    /// Deactivated users cannot sign in; their tokens and keys stop working at once.
    async fn is_active(&self) -> bool {
        self.0.is_active
    }
    async fn timezone(&self) -> &str {
        &self.0.timezone
    }
    async fn mfa_enabled(&self) -> bool {
        self.0.mfa_enabled
    }
    async fn last_login_at(&self) -> Option<DateTime<Utc>> {
        self.0.last_login_at.map(Into::into)
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.into()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.into()
    }
}
