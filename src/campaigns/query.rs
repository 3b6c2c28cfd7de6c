use async_graphql::InputObject;
use entity::campaigns::Column;

use super::{Campaign, CampaignStatus, types::CampaignType};
use crate::{
    error::ApiResult,
    graphql::{ListFilter, Where},
    sql::{SqlBuilder, contains_pattern},
    text_enum::TextEnum,
    validation,
};

/// Campaigns matching every given field.
#[derive(InputObject, Default)]
pub struct CampaignFilter {
    /// Any of these statuses.
    pub status: Option<Vec<CampaignStatus>>,
    /// Any of these types.
    pub r#type: Option<Vec<CampaignType>>,
    /// Case-insensitive substring of the name.
    pub search: Option<String>,
}

fn stored<E: TextEnum>(values: Option<Vec<E>>) -> Vec<String> {
    values
        .unwrap_or_default()
        .into_iter()
        .map(|v| v.as_db().to_owned())
        .collect()
}

impl ListFilter for CampaignFilter {
    fn conditions(self) -> ApiResult<impl Fn(&mut SqlBuilder) + Sync> {
        validation::search("search", self.search.as_deref())?;
        let (status, types) = (stored(self.status), stored(self.r#type));
        let search = self.search.filter(|s| !s.trim().is_empty());
        Ok(move |sql: &mut SqlBuilder| {
            let w = &mut Where::on_list(sql);
            w.any_of(Column::Status, &status);
            w.any_of(Column::CampaignType, &types);
            if let Some(search) = &search {
                let pattern = w.bind(contains_pattern(search));
                let name = w.column(Column::Name);
                w.and(&format!("lower({name}) LIKE {pattern}"));
            }
        })
    }
}

crate::orderings! {
    /// What campaigns can be ordered by.
    CampaignOrderField, CampaignOrder for campaigns { CreatedAt, Name, StartDate }
}

crate::queries! {
    CampaignQuery {
        lists {
            /// Campaigns matching `filter`, newest first unless `orderBy` says otherwise.
            campaigns: member Campaign(
                filter: CampaignFilter,
                order_by: CampaignOrder = CampaignOrderField::CreatedAt Desc,
            );
        }
        find {
            /// One campaign, or null when there is none with this id in your organization.
            campaign: member Campaign;
        }
    }
}
