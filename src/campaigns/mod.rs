//! Campaigns: leads targeted together (`addLeadsToCampaign` by ids or by a lead filter), each
//! member moving from pending to converted or excluded, with the campaign's stats computed in
//! SQL. MANAGER and above run campaigns; any writer works their members (an AGENT, those of
//! the leads assigned to them).

mod mutation;
mod query;
pub mod service;
mod types;

pub use mutation::CampaignMutation;
pub use query::{CampaignOrderField, CampaignQuery};
pub use types::{Campaign, CampaignMembers, CampaignStatus, MemberStatus};
