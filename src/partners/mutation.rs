use async_graphql::{ID, InputObject};
use entity::partners::{self, Column};
use rust_decimal::Decimal;

use super::{Partner, PartnerStatus, PartnerTier};
use crate::{
    error::{ApiError, ApiResult},
    graphql::{NodeKind, decode_id},
    numbers::ExactDecimal,
    validation::{self, max_text, stored},
};

crate::inputs! {
    create CreatePartnerInput;
    /// Fields left out stay as they are; nullable fields set to null are cleared.
    update UpdatePartnerInput;
    fields {
        company_name "companyName": String = required(Column::CompanyName, max_text(255)),
        contact_name "contactName": String = required(Column::ContactName, max_text(150)),
        /// Unique in the organization.
        email "email": String = required(Column::Email, email),
        phone "phone": String = text(Column::Phone, 50),
        /// Default AUTHORIZED.
        tier "tier": PartnerTier = defaulted(Column::Tier, stored),
        /// Default PENDING.
        status "status": PartnerStatus = defaulted(Column::Status, stored),
        /// Percent, 0 to 100, at most 2 decimals.
        commission_rate "commissionRate": ExactDecimal =
            nullable(Column::CommissionRate, commission_rate),
    }
}

fn email(field: &'static str, value: String) -> ApiResult<String> {
    validation::email(field, &value)
}

fn commission_rate(field: &'static str, value: ExactDecimal) -> ApiResult<Decimal> {
    let rate = value.0;
    if rate < Decimal::ZERO || rate > Decimal::ONE_HUNDRED || rate.normalize().scale() > 2 {
        return Err(ApiError::bad_input(
            field,
            "`commissionRate` must be a percent from 0 to 100 with at most 2 decimals",
        ));
    }
    Ok(rate)
}

#[derive(InputObject)]
pub struct DeletePartnerInput {
    pub id: ID,
}

crate::payloads! {
    PartnerPayload { partner: Partner }
    DeletePartnerPayload {
        /// Its deals stay, without a partner.
        deleted_partner_id: id of Partner
    }
}

// A partner has no rules beyond its fields': the generic services serve it.
crate::mutations! {
    PartnerMutation;
    /// Adds a partner (MANAGER and above).
    create_partner(input: CreatePartnerInput) -> PartnerPayload,
        manager |acting, ctx| async {
            let changes = { input }.changes()?;
            acting.insert::<partners::Model>(changes).await.map_err(|err| err.taken("a partner with this e-mail exists"))
        };
    update_partner(input: UpdatePartnerInput) -> PartnerPayload,
        manager |acting, ctx| async {
            let id = decode_id(&input.id, NodeKind::Partner, "id")?;
            let changes = input.changes()?;
            acting.update::<partners::Model>("update", id, changes, "").await.map_err(|err| err.taken("a partner with this e-mail exists"))
        };
    /// Deletes a partner (MANAGER and above); its deals remain, with no partner.
    delete_partner(input: DeletePartnerInput) -> DeletePartnerPayload,
        manager |acting, ctx| {
            acting.delete::<partners::Model>(decode_id(&input.id, NodeKind::Partner, "id")?)
        };
}
