//! Tenancy: who is asking (the [`Principal`]), the per-request tenant transaction that every
//! resolver and loader shares, and the start-up self-check that refuses to serve when the
//! database would not enforce isolation.

mod connection;
mod lazy;
mod principal;
mod self_check;
mod transaction;

pub use connection::{SessionStatement, StatementObserver, TenantConnection, TenantPool};
pub use lazy::LazyTenantTx;
pub use principal::{Credential, Principal, Role, Scope};
pub use self_check::{SelfCheckError, self_check};
pub use transaction::{TenantSettings, TenantTx};
