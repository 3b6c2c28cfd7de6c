//! The authenticated principal. Its organization is the only source of the request's tenant.

use uuid::Uuid;

use crate::error::{ApiError, ApiResult};

crate::text_enum! {
    /// What a user may do inside their organization.
    Role {
        Owner => "owner",
        Admin => "admin",
        Manager => "manager",
        Agent => "agent",
        Viewer => "viewer",
    }
}

crate::text_enum! {
    /// What an API key may do.
    Scope {
        Read => "read",
        Write => "write",
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    /// An access token of a login session (refresh-token family `family_id`).
    Session { family_id: Uuid },
    /// An API key acting on behalf of the user who created it.
    ApiKey {
        api_key_id: Uuid,
        scopes: Vec<Scope>,
        /// Requests the key may make per hour (its `rateLimitPerHour`).
        rate_limit_per_hour: u32,
    },
}

#[derive(Clone, Debug)]
pub struct Principal {
    pub organization_id: Uuid,
    pub user_id: Uuid,
    /// Read from the database, or from a confirmation kept since (`auth::VerifiedPrincipals`,
    /// forgotten when the role changes), so role changes apply at once.
    pub role: Role,
    pub credential: Credential,
}

impl Credential {
    pub fn api_key_id(&self) -> Option<Uuid> {
        match self {
            Credential::ApiKey { api_key_id, .. } => Some(*api_key_id),
            Credential::Session { .. } => None,
        }
    }
}

impl Principal {
    pub fn api_key_id(&self) -> Option<Uuid> {
        self.credential.api_key_id()
    }

    /// Mutations need a role other than VIEWER and, for API keys, the WRITE scope.
    pub fn require_write(&self) -> ApiResult<()> {
        if self.role == Role::Viewer {
            return Err(ApiError::Forbidden("viewers have read-only access"));
        }
        if let Credential::ApiKey { scopes, .. } = &self.credential
            && !scopes.contains(&Scope::Write)
        {
            return Err(ApiError::Forbidden("this API key lacks the WRITE scope"));
        }
        Ok(())
    }

    /// Changing what every user of the organization works with (the pipeline's stages) and
    /// anyone's records: MANAGER and above.
    pub fn require_manager(&self) -> ApiResult<()> {
        self.require_write()?;
        if matches!(self.role, Role::Agent) {
            return Err(ApiError::Forbidden("only managers and above may do this"));
        }
        Ok(())
    }

    /// Managing users, API keys and the organization: OWNER and ADMIN only, and never through
    /// an API key (a leaked key must not be able to mint more keys).
    pub fn require_admin(&self) -> ApiResult<()> {
        self.require_write()?;
        if matches!(self.credential, Credential::ApiKey { .. }) {
            return Err(ApiError::Forbidden(
                "API keys cannot manage the organization",
            ));
        }
        if !matches!(self.role, Role::Owner | Role::Admin) {
            return Err(ApiError::Forbidden("only owners and admins may do this"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn principal(role: Role, credential: Credential) -> Principal {
        Principal {
            organization_id: Uuid::nil(),
            user_id: Uuid::nil(),
            role,
            credential,
        }
    }

    fn session() -> Credential {
        Credential::Session {
            family_id: Uuid::nil(),
        }
    }

    #[test]
    fn viewers_cannot_write() {
        assert!(principal(Role::Viewer, session()).require_write().is_err());
        assert!(principal(Role::Agent, session()).require_write().is_ok());
    }

    #[test]
    fn read_scoped_keys_cannot_write() {
        let key = Credential::ApiKey {
            api_key_id: Uuid::nil(),
            scopes: vec![Scope::Read],
            rate_limit_per_hour: 1000,
        };
        assert!(principal(Role::Owner, key).require_write().is_err());
    }

    #[test]
    fn only_owner_and_admin_sessions_administer() {
        assert!(principal(Role::Admin, session()).require_admin().is_ok());
        assert!(principal(Role::Manager, session()).require_admin().is_err());
        let key = Credential::ApiKey {
            api_key_id: Uuid::nil(),
            scopes: vec![Scope::Read, Scope::Write],
            rate_limit_per_hour: 1000,
        };
        assert!(principal(Role::Owner, key).require_admin().is_err());
    }
}
