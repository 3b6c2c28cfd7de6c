//! Partners: the resellers and firms who bring or share deals (`deal.partner`). MANAGER and
//! above manage them; everyone of the organization reads them.

mod mutation;
mod query;
mod types;

pub use mutation::PartnerMutation;
pub use query::PartnerQuery;
pub use types::{Partner, PartnerStatus, PartnerTier};
