use async_graphql::{ID, InputObject};
use chrono::NaiveDate;
use entity::deals::Column;
use uuid::Uuid;

use super::Deal;
use crate::{
    error::ApiResult,
    graphql::{ListFilter, NodeKind, Where, decode_id},
    pipeline::StageKind,
    sql::{SqlBuilder, contains_pattern},
    validation,
};

/// Deals matching every given field; also chooses the deals of `pipelineBoard`.
#[derive(InputObject, Default)]
pub struct DealFilter {
    /// In any of these stages.
    pub stage_ids: Option<Vec<ID>>,
    /// Any of these statuses.
    pub status: Option<Vec<StageKind>>,
    pub owner_id: Option<ID>,
    pub lead_id: Option<ID>,
    pub company_id: Option<ID>,
    pub partner_id: Option<ID>,
    /// Expected to close on or after this day.
    pub expected_close_from: Option<NaiveDate>,
    /// Expected to close on or before this day.
    pub expected_close_to: Option<NaiveDate>,
    /// Case-insensitive substring of the title.
    pub search: Option<String>,
    /// true: only soft-deleted deals; false or absent: only live ones.
    pub deleted: Option<bool>,
}

/// The filter, validated, as SQL conditions on `t` (deals), every value bound.
struct DealConditions {
    stages: Vec<Uuid>,
    status: Vec<String>,
    owner: Option<Uuid>,
    lead: Option<Uuid>,
    company: Option<Uuid>,
    partner: Option<Uuid>,
    close_from: Option<NaiveDate>,
    close_to: Option<NaiveDate>,
    search: Option<String>,
    deleted: bool,
}

impl DealConditions {
    fn parse(filter: DealFilter) -> ApiResult<Self> {
        let id = |id: Option<ID>, kind, field| id.map(|id| decode_id(&id, kind, field)).transpose();
        let day =
            |day: Option<NaiveDate>, field| day.map(|d| validation::calendar(field, d)).transpose();
        validation::search("search", filter.search.as_deref())?;
        Ok(Self {
            stages: filter
                .stage_ids
                .unwrap_or_default()
                .iter()
                .map(|id| decode_id(id, NodeKind::PipelineStage, "stageIds"))
                .collect::<ApiResult<_>>()?,
            status: filter
                .status
                .unwrap_or_default()
                .iter()
                .map(|s| s.as_db().to_owned())
                .collect(),
            owner: id(filter.owner_id, NodeKind::User, "ownerId")?,
            lead: id(filter.lead_id, NodeKind::Lead, "leadId")?,
            company: id(filter.company_id, NodeKind::Company, "companyId")?,
            partner: id(filter.partner_id, NodeKind::Partner, "partnerId")?,
            close_from: day(filter.expected_close_from, "expectedCloseFrom")?,
            close_to: day(filter.expected_close_to, "expectedCloseTo")?,
            search: filter
                .search
                .map(|s| s.trim().to_owned())
                .filter(|s| !s.is_empty()),
            deleted: filter.deleted.unwrap_or(false),
        })
    }

    fn apply(&self, sql: &mut SqlBuilder) {
        let w = &mut Where::on_list(sql);
        w.null(Column::DeletedAt, Some(!self.deleted));
        w.any_of(Column::StageId, &self.stages);
        w.any_of(Column::Status, &self.status);
        w.equals(Column::OwnerId, self.owner);
        w.equals(Column::LeadId, self.lead);
        w.equals(Column::CompanyId, self.company);
        w.equals(Column::PartnerId, self.partner);
        w.at_least(Column::ExpectedCloseDate, self.close_from);
        w.at_most(Column::ExpectedCloseDate, self.close_to);
        if let Some(search) = &self.search {
            let pattern = w.bind(contains_pattern(search));
            let title = w.column(Column::Title);
            w.and(&format!("lower({title}) LIKE {pattern}"));
        }
    }
}

impl ListFilter for DealFilter {
    fn conditions(self) -> ApiResult<impl Fn(&mut SqlBuilder) + Sync> {
        let conditions = DealConditions::parse(self)?;
        Ok(move |sql: &mut SqlBuilder| conditions.apply(sql))
    }
}

crate::orderings! {
    /// What deals can be ordered by.
    DealOrderField, DealOrder for deals { CreatedAt, UpdatedAt, Value, ExpectedCloseDate, Title }
}

crate::queries! {
    DealQuery {
        lists {
            /// Deals matching `filter`, newest first unless `orderBy` says otherwise.
            deals: member Deal(
                filter: DealFilter,
                order_by: DealOrder = DealOrderField::CreatedAt Desc,
            );
        }
        find {
            /// One deal (also when soft-deleted), or null when there is none with this id in
            /// your organization.
            deal: member Deal;
        }
    }
}
