use async_graphql::{ID, InputObject};
use chrono::NaiveDate;
use entity::deals::Column;

use super::{Deal, service};
use crate::{
    error::ApiResult,
    graphql::{NodeKind, decode_id},
    numbers::MoneyInput,
    pipeline::stage_id,
    validation::{self, id_of, max_text},
};

crate::inputs! {
    create CreateDealInput;
    /// Fields left out stay as they are; nullable fields set to null are cleared. `moveDeal`
    /// and `closeDeal` change its stage.
    update UpdateDealInput;
    fields {
        /// 1 to 200 characters.
        title "title": String = required(Column::Title, max_text(200)),
        value "value": MoneyInput = money(Column::Value, Column::ValueCurrency),
        expected_close_date "expectedCloseDate": NaiveDate =
            nullable(Column::ExpectedCloseDate, validation::calendar),
        /// A live lead of the organization. On create, its company is the deal's unless
        /// `companyId` says otherwise.
        lead_id "leadId": ID = nullable(Column::LeadId, id_of(NodeKind::Lead)),
        company_id "companyId": ID = nullable(Column::CompanyId, id_of(NodeKind::Company)),
        /// An active user of the organization; on create, you when absent.
        owner_id "ownerId": ID = nullable(Column::OwnerId, id_of(NodeKind::User)),
        partner_id "partnerId": ID = nullable(Column::PartnerId, id_of(NodeKind::Partner)),
    }
    create_extra {
        /// The pipeline's first OPEN stage when absent.
        stage_id: Option<ID>,
    }
}

#[derive(InputObject)]
pub struct DealIdInput {
    pub id: ID,
}

#[derive(InputObject)]
pub struct MoveDealInput {
    pub id: ID,
    /// Any stage: a WON or LOST stage closes the deal, an OPEN one (re)opens it.
    pub stage_id: ID,
}

#[derive(InputObject)]
pub struct CloseDealInput {
    pub id: ID,
    /// true: to the pipeline's first WON stage; false: to its first LOST stage.
    pub won: bool,
    /// Why, 1 to 500 characters.
    pub reason: Option<String>,
}

crate::payloads! {
    DealPayload { deal: Deal }
}

crate::mutations! {
    DealMutation;
    create_deal(input: CreateDealInput) -> DealPayload,
        member |acting, ctx| service::create(&acting, input);
    update_deal(input: UpdateDealInput) -> DealPayload,
        member |acting, ctx| service::update(&acting, deal_id(&input.id, "id")?, input);
    /// Moves an open or closed deal to a stage; the move goes into its `stageHistory`.
    move_deal(input: MoveDealInput) -> DealPayload,
        member |acting, ctx| {
            let id = deal_id(&input.id, "id")?;
            service::move_to(&acting, id, stage_id(&input.stage_id, "stageId")?)
        };
    /// Wins or loses an open deal; BAD_USER_INPUT naming `won` when it is already closed.
    close_deal(input: CloseDealInput) -> DealPayload,
        member |acting, ctx| {
            service::close(&acting, deal_id(&input.id, "id")?, input.won, input.reason)
        };
    /// Soft-deletes a deal: it leaves lists and the board, and can be restored.
    delete_deal(input: DealIdInput) -> DealPayload,
        member |acting, ctx| service::delete(&acting, deal_id(&input.id, "id")?);
    restore_deal(input: DealIdInput) -> DealPayload,
        member |acting, ctx| service::restore(&acting, deal_id(&input.id, "id")?);
}

fn deal_id(id: &ID, field: &'static str) -> ApiResult<uuid::Uuid> {
    decode_id(id, NodeKind::Deal, field)
}
