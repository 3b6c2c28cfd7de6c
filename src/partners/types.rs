use chrono::{DateTime, Utc};
use entity::partners;

use crate::numbers::ExactDecimal;

crate::text_enum! {
    PartnerTier {
        Authorized => "authorized",
        Gold => "gold",
        Platinum => "platinum",
    }
}

crate::text_enum! {
    /// Where a partnership stands.
    PartnerStatus {
        Pending => "pending",
        Approved => "approved",
        Active => "active",
        Suspended => "suspended",
    }
}

type Stored<T> = async_graphql::Result<T>;

crate::object! {
    /// A firm that brings or shares deals.
    Partner(partners::Model) as Partner {
        company_name: &str,
        contact_name: &str,
        /// Unique in the organization, lower-case.
        email: &str,
        phone: Option<&str>,
        tier: Stored<PartnerTier>,
        status: Stored<PartnerStatus>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
    extra {
        /// Percent of a won deal's value, e.g. "12.50".
        async fn commission_rate(&self) -> Option<ExactDecimal> {
            self.0.commission_rate.map(|rate| ExactDecimal(rate.normalize()))
        }
    }
}

crate::tenant_rows!(partners::Model => "partners" as "partner");
