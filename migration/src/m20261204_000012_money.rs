//! Money as exact decimals with a currency: a lead's estimated deal value and a company's
//! annual revenue become `numeric(22, 4)` (major units; the API holds each amount to its
//! currency's decimals) beside an ISO 4217 code, set together or not at all. The whole
//! amounts stored until now were US dollars.

use sea_orm_migration::prelude::*;

use crate::script_migration;

#[derive(DeriveMigrationName)]
pub struct Migration;

// The currency defaults to "USD": existing rows get it without an UPDATE (which would fire the
// lead triggers and, as the owner under forced RLS, see no rows), and a row without an amount
// still has one.
const SQL: &str = r#"
ALTER TABLE leads
    ALTER COLUMN estimated_deal_value TYPE numeric(22, 4),
    ADD COLUMN estimated_deal_currency char(3) NOT NULL DEFAULT 'USD'
        CHECK (estimated_deal_currency ~ '^[A-Z]{3}$');

ALTER TABLE companies
    ALTER COLUMN annual_revenue TYPE numeric(22, 4),
    ADD COLUMN annual_revenue_currency char(3) NOT NULL DEFAULT 'USD'
        CHECK (annual_revenue_currency ~ '^[A-Z]{3}$');
"#;

const UNDO: &str = r#"
ALTER TABLE leads
    DROP COLUMN estimated_deal_currency,
    ALTER COLUMN estimated_deal_value TYPE bigint USING round(estimated_deal_value)::bigint;
ALTER TABLE companies
    DROP COLUMN annual_revenue_currency,
    ALTER COLUMN annual_revenue TYPE bigint USING round(annual_revenue)::bigint;
"#;

script_migration!(SQL, UNDO);
