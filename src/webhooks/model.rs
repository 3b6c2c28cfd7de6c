//! Rows of the webhook tables: their sea-orm entities, under the names the module uses.

pub use entity::{
    webhook_attempts::Model as AttemptRow, webhook_deliveries::Model as DeliveryRow,
    webhook_endpoints::Model as EndpointRow,
};

crate::tenant_rows!(
    EndpointRow => "webhook_endpoints" as "webhook_endpoint",
    DeliveryRow => "webhook_deliveries" as "webhook_delivery",
    AttemptRow => "webhook_attempts" as "webhook_attempt",
);
