use async_graphql::{Context, ID, InputObject, Object};
use chrono::{DateTime, FixedOffset, Utc};
use entity::{
    companies,
    leads::{self, Column},
};
use sea_orm::Value;

use super::{Lead, LeadStatus, Temperature};
use crate::{
    companies::CompanyFilter,
    error::{ApiError, ApiResult},
    graphql::{
        ContextExt, ListFilter, NodeKind, Ordering, Page, PageArgs, SortColumn, Sorted, Where,
        decode_id, list,
    },
    sql::{SqlBuilder, contains_pattern},
    validation,
};

#[derive(InputObject, Default)]
pub struct LeadFilter {
    /// Any of these statuses.
    pub status: Option<Vec<LeadStatus>>,
    /// Any of these temperatures.
    pub temperature: Option<Vec<Temperature>>,
    pub assigned_to_id: Option<ID>,
    /// Only leads nobody is assigned to.
    pub unassigned: Option<bool>,
    pub company_id: Option<ID>,
    /// Leads whose company matches this filter.
    pub company: Option<CompanyFilter>,
    pub score_min: Option<i32>,
    pub score_max: Option<i32>,
    /// Leads having at least one of these tags.
    pub tags_any: Option<Vec<String>>,
    /// Leads having all of these tags.
    pub tags_all: Option<Vec<String>>,
    pub created_after: Option<DateTime<Utc>>,
    pub created_before: Option<DateTime<Utc>>,
    /// Case-insensitive substring of the name, e-mail or company name.
    pub search: Option<String>,
    /// true: only soft-deleted leads (the trash); false or absent: only live ones.
    pub deleted: Option<bool>,
}

crate::orderings! {
    /// What leads can be ordered by.
    LeadOrderField, LeadOrder for leads { Score, CreatedAt, UpdatedAt, LastName }
}

/// The filter as SQL conditions on `t` (leads), every value bound.
struct LeadConditions {
    status: Vec<String>,
    temperature: Vec<String>,
    assigned_to: Option<uuid::Uuid>,
    unassigned: bool,
    company: Option<uuid::Uuid>,
    company_fields: Option<CompanyFilter>,
    score_min: Option<i32>,
    score_max: Option<i32>,
    tags_any: Vec<String>,
    tags_all: Vec<String>,
    created_after: Option<DateTime<Utc>>,
    created_before: Option<DateTime<Utc>>,
    search: Option<String>,
    deleted: bool,
}

impl LeadConditions {
    fn parse(filter: LeadFilter) -> ApiResult<Self> {
        let score = |field, value: Option<i32>| {
            value
                .map(|v| crate::validation::range(field, v, 0, 100))
                .transpose()
        };
        crate::validation::search("search", filter.search.as_deref())?;
        if let Some(company) = &filter.company {
            company.validate("company.search")?;
        }
        Ok(Self {
            status: filter
                .status
                .unwrap_or_default()
                .iter()
                .map(|s| s.as_db().to_owned())
                .collect(),
            temperature: filter
                .temperature
                .unwrap_or_default()
                .iter()
                .map(|t| t.as_db().to_owned())
                .collect(),
            assigned_to: filter
                .assigned_to_id
                .map(|id| decode_id(&id, NodeKind::User, "assignedToId"))
                .transpose()?,
            unassigned: filter.unassigned.unwrap_or(false),
            company: filter
                .company_id
                .map(|id| decode_id(&id, NodeKind::Company, "companyId"))
                .transpose()?,
            company_fields: filter.company,
            score_min: score("scoreMin", filter.score_min)?,
            score_max: score("scoreMax", filter.score_max)?,
            tags_any: filter.tags_any.unwrap_or_default(),
            tags_all: filter.tags_all.unwrap_or_default(),
            created_after: filter
                .created_after
                .map(|t| crate::validation::calendar("createdAfter", t))
                .transpose()?,
            created_before: filter
                .created_before
                .map(|t| crate::validation::calendar("createdBefore", t))
                .transpose()?,
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
        w.any_of(Column::Status, &self.status);
        w.any_of(Column::Temperature, &self.temperature);
        w.equals(Column::AssignedToId, self.assigned_to);
        w.null(Column::AssignedToId, self.unassigned.then_some(true));
        w.equals(Column::CompanyId, self.company);
        w.at_least(Column::Score, self.score_min);
        w.at_most(Column::Score, self.score_max);
        w.overlaps(Column::Tags, &self.tags_any);
        w.contains_all(Column::Tags, &self.tags_all);
        w.at_least(Column::CreatedAt, self.created_after);
        w.before(Column::CreatedAt, self.created_before);
        if let Some(company) = &self.company_fields {
            w.related(Column::CompanyId, companies::Entity, |c| {
                company.conditions(c)
            });
        }
        if let Some(search) = &self.search {
            let pattern = w.bind(contains_pattern(search));
            if has_trigram(search) {
                // Index-backed: under RLS the trigram indexes serve only `lead_search_ids`
                // (see the migration m20261204_000007_hardening), which returns the matching
                // ids of the tenant the policies see.
                let deleted = w.bind(self.deleted);
                w.and(&format!(
                    "t.id IN (SELECT lead_search_ids({pattern}, {deleted}))"
                ));
            } else {
                // Too short for a trigram: no index can find it, so test each lead, and find
                // the matching companies once (not once per lead). A short term usually
                // matches soon in the page's order.
                w.and(&format!(
                    "(lower(t.first_name || ' ' || t.last_name || ' ' || t.email) LIKE {pattern}
                       OR t.company_id = ANY(ARRAY(SELECT c.id FROM companies c
                                                   WHERE c.organization_id = $1
                                                     AND lower(c.name) LIKE {pattern})))"
                ));
            }
        }
    }
}

/// `SELECT {select} FROM leads t WHERE ...`: the leads `filter` keeps, with the conditions a
/// `leads(filter:)` page and its count use (`$1` is the tenant). The plan tests explain it.
pub fn filtered_leads(
    organization_id: uuid::Uuid,
    filter: LeadFilter,
    select: &str,
) -> ApiResult<SqlBuilder> {
    let conditions = LeadConditions::parse(filter)?;
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(organization_id);
    sql.push(&format!(
        "SELECT {select} FROM leads t WHERE t.organization_id = {org}"
    ));
    conditions.apply(&mut sql);
    Ok(sql)
}

/// Whether pg_trgm can take a trigram from `search` (three letters or digits in a row), and so
/// an index can find it; otherwise the index would return the whole tenant to be rechecked.
fn has_trigram(search: &str) -> bool {
    search
        .split(|c: char| !c.is_alphanumeric())
        .any(|word| word.chars().count() >= 3)
}

/// A lead filter to store (a campaign's criteria, a segment): validated as `leads(filter:)`
/// validates it (errors naming `field`), and kept as given.
pub fn storable_filter(field: &'static str, filter: LeadFilter) -> ApiResult<serde_json::Value> {
    let mut stored = async_graphql::InputType::to_value(&filter)
        .into_json()
        .map_err(ApiError::internal)?;
    LeadConditions::parse(filter).map_err(|err| err.within(field))?;
    without_nulls(&mut stored);
    Ok(stored)
}

/// Leaves out the fields that were not given.
fn without_nulls(value: &mut serde_json::Value) {
    if let serde_json::Value::Object(fields) = value {
        fields.retain(|_, field| !field.is_null());
        fields.values_mut().for_each(without_nulls);
    }
}

/// A stored lead filter (see [`storable_filter`]), as the filter it was.
pub fn stored_filter(stored: &serde_json::Value) -> ApiResult<LeadFilter> {
    let value = async_graphql::Value::from_json(stored.clone()).map_err(ApiError::internal)?;
    <LeadFilter as async_graphql::InputType>::parse(Some(value))
        .map_err(|_| ApiError::internal(anyhow::anyhow!("a stored lead filter no longer parses")))
}

impl ListFilter for LeadFilter {
    fn conditions(self) -> ApiResult<impl Fn(&mut SqlBuilder) + Sync> {
        let conditions = LeadConditions::parse(self)?;
        Ok(move |sql: &mut SqlBuilder| conditions.apply(sql))
    }
}

crate::queries! {
    LeadQuery {
        lists {
            /// Leads matching `filter`, newest first unless `orderBy` says otherwise.
            leads: member Lead(
                filter: LeadFilter,
                order_by: LeadOrder = LeadOrderField::CreatedAt Desc,
            );
        }
        find {
            /// One lead (also when soft-deleted), or null when there is none with this id in your
            /// organization.
            lead: member Lead;
        }
    }
}

/// Leads by when their follow-up is due, soonest first (then by id).
#[derive(Clone, Copy)]
struct FollowUpTime;

impl Ordering for FollowUpTime {
    type Row = leads::Model;

    fn column(self) -> SortColumn {
        SortColumn::of(Column::NextFollowUpAt)
    }

    fn value(self, row: &leads::Model) -> Value {
        Value::from(row.next_follow_up_at)
    }
}

/// `myFollowUps`: a list with arguments of its own, beside the declared ones.
#[derive(Default)]
pub struct FollowUpQuery;

#[Object]
impl FollowUpQuery {
    /// Your live leads whose next follow-up is due by `dueBefore` (now when absent), soonest
    /// first. For an API key, its creator's.
    #[graphql(complexity = "crate::graphql::page_cost(first, last, child_complexity)")]
    #[allow(clippy::too_many_arguments)] // the four paging arguments are Relay's
    async fn my_follow_ups(
        &self,
        ctx: &Context<'_>,
        due_before: Option<DateTime<Utc>>,
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> async_graphql::Result<Page<Lead>> {
        let me = ctx.principal()?.user_id;
        let due: DateTime<FixedOffset> =
            validation::calendar("dueBefore", due_before.unwrap_or_else(Utc::now))?.into();
        let filter = move |sql: &mut SqlBuilder| {
            let (me, due) = (sql.bind(me), sql.bind(due));
            sql.push(&format!(
                " AND t.assigned_to_id = {me} AND t.deleted_at IS NULL \
                  AND t.next_follow_up_at <= {due}"
            ));
        };
        let args = PageArgs::new(first, after, last, before);
        let soonest_first = Sorted {
            by: FollowUpTime,
            descending: false,
        };
        list::<_, Lead>(ctx, args, soonest_first, &filter).await
    }
}

#[cfg(test)]
mod tests {
    use super::has_trigram;

    #[test]
    fn searches_of_three_letters_in_a_row_can_use_the_trigram_index() {
        for search in ["zzzz", "ada", "x@acme.io", "o'brien", "Ünï"] {
            assert!(has_trigram(search), "{search}");
        }
        for search in ["zz", "a.b", "%_", "j d", "42"] {
            assert!(!has_trigram(search), "{search}");
        }
    }
}
