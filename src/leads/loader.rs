use entity::leads;

use crate::graphql::ById;

pub type LeadId = ById<leads::Model>;

crate::tenant_rows!(leads::Model => "leads" as "lead");
