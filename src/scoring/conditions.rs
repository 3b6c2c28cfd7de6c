//! A scoring rule's conditions: typed (a field of the lead, of its company, or a count of its
//! activities; an operator; values), validated when a rule is saved, stored as JSONB, and
//! compiled to SQL over a lead `t` and its company `c` with every value bound. No code.

use async_graphql::{Enum, InputObject, SimpleObject};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::{
    activities::ActivityKind,
    error::{ApiError, ApiResult},
    leads::{self, Seniority, Temperature},
    sql::{SqlBuilder, contains_pattern},
    text_enum::TextEnum,
};

/// What a condition looks at.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScoringField {
    LeadSeniority,
    LeadSource,
    LeadStatus,
    LeadTemperature,
    LeadJobTitle,
    LeadDepartment,
    LeadTags,
    /// Its amount, whatever the currency.
    LeadEstimatedDealValue,
    LeadProbabilityToClose,
    CompanyIndustry,
    CompanyEmployeeCount,
    /// Its amount, whatever the currency.
    CompanyAnnualRevenue,
    CompanyFortuneRank,
    /// How many activities the lead had within `withinDays` (of `activityKind`, if given).
    ActivityCount,
}

/// How a condition compares.
#[derive(Enum, Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ScoringOperator {
    /// One of `values` (text: whatever the case; tags: has one of them).
    In,
    /// None of `values` (or no value at all).
    NotIn,
    /// Text holding `values[0]`, whatever the case; tags: has the tag.
    Contains,
    /// At least `values[0]` (numbers and counts).
    AtLeast,
    /// At most `values[0]` (numbers and counts).
    AtMost,
    IsSet,
    IsNotSet,
}

/// One condition of a rule.
#[derive(InputObject, SimpleObject, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[graphql(input_name = "ScoringConditionInput")]
#[serde(rename_all = "camelCase")]
pub struct ScoringCondition {
    pub field: ScoringField,
    pub operator: ScoringOperator,
    /// Enum fields take their GraphQL values (`C_LEVEL`), numbers decimal strings.
    #[graphql(default)]
    pub values: Vec<String>,
    /// ACTIVITY_COUNT: only activities of this kind.
    pub activity_kind: Option<ActivityKind>,
    /// ACTIVITY_COUNT: within this many days, 1 to 365.
    pub within_days: Option<i32>,
}

/// The kinds of field, by what their conditions may do.
enum Kind {
    /// A stored enum: the GraphQL names a condition may give, and their stored values.
    Choice(&'static [&'static str]),
    Text,
    Tags,
    Number,
    Count,
}

fn names<E: TextEnum>() -> &'static [&'static str] {
    E::STORED
}

impl ScoringField {
    fn kind(self) -> Kind {
        use ScoringField::*;
        match self {
            LeadSeniority => Kind::Choice(names::<Seniority>()),
            LeadSource => Kind::Choice(names::<leads::LeadSource>()),
            LeadStatus => Kind::Choice(names::<leads::LeadStatus>()),
            LeadTemperature => Kind::Choice(names::<Temperature>()),
            LeadJobTitle | LeadDepartment | CompanyIndustry => Kind::Text,
            LeadTags => Kind::Tags,
            LeadEstimatedDealValue
            | LeadProbabilityToClose
            | CompanyEmployeeCount
            | CompanyAnnualRevenue
            | CompanyFortuneRank => Kind::Number,
            ActivityCount => Kind::Count,
        }
    }

    /// The column it reads, qualified (`t` the lead, `c` its company).
    fn column(self) -> &'static str {
        use ScoringField::*;
        match self {
            LeadSeniority => "t.seniority",
            LeadSource => "t.source",
            LeadStatus => "t.status",
            LeadTemperature => "t.temperature",
            LeadJobTitle => "t.job_title",
            LeadDepartment => "t.department",
            LeadTags => "t.tags",
            LeadEstimatedDealValue => "t.estimated_deal_value",
            LeadProbabilityToClose => "t.probability_to_close",
            CompanyIndustry => "c.industry",
            CompanyEmployeeCount => "c.employee_count",
            CompanyAnnualRevenue => "c.annual_revenue",
            CompanyFortuneRank => "c.fortune_rank",
            ActivityCount => "",
        }
    }
}

const MAX_CONDITIONS: usize = 10;
const MAX_VALUES: usize = 50;

fn refuse(message: impl Into<String>) -> ApiError {
    ApiError::bad_input("conditions", message)
}

/// Conditions as a rule stores them: each checked against its field, enum names turned into
/// stored values, numbers normalized. BAD_USER_INPUT naming `conditions` otherwise.
pub fn validate(conditions: Vec<ScoringCondition>) -> ApiResult<Vec<ScoringCondition>> {
    if conditions.is_empty() || conditions.len() > MAX_CONDITIONS {
        return Err(refuse(format!(
            "a rule has 1 to {MAX_CONDITIONS} conditions"
        )));
    }
    conditions.into_iter().map(validate_one).collect()
}

fn validate_one(mut condition: ScoringCondition) -> ApiResult<ScoringCondition> {
    use ScoringOperator::*;
    let field = condition.field;
    let operator = condition.operator;
    let wanted = match operator {
        In | NotIn => 1..=MAX_VALUES,
        Contains | AtLeast | AtMost => 1..=1,
        IsSet | IsNotSet => 0..=0,
    };
    if !wanted.contains(&condition.values.len()) {
        return Err(refuse(format!(
            "{operator:?} takes {} to {} values",
            wanted.start(),
            wanted.end()
        )));
    }
    let fits = matches!(
        (field.kind(), operator),
        (Kind::Choice(_), In | NotIn | IsSet | IsNotSet)
            | (Kind::Text, In | NotIn | Contains | IsSet | IsNotSet)
            | (Kind::Tags, In | Contains | IsSet | IsNotSet)
            | (Kind::Number, AtLeast | AtMost | IsSet | IsNotSet)
            | (Kind::Count, AtLeast | AtMost)
    );
    if !fits {
        return Err(refuse(format!(
            "{field:?} cannot be compared with {operator:?}"
        )));
    }
    let is_count = matches!(field.kind(), Kind::Count);
    if is_count != condition.within_days.is_some() {
        return Err(refuse(
            "`withinDays` goes with ACTIVITY_COUNT, and only with it",
        ));
    }
    if !is_count && condition.activity_kind.is_some() {
        return Err(refuse("`activityKind` goes with ACTIVITY_COUNT only"));
    }
    if condition
        .within_days
        .is_some_and(|days| !(1..=365).contains(&days))
    {
        return Err(refuse("`withinDays` is 1 to 365"));
    }
    condition.values = match field.kind() {
        // Kept as the API names them (C_LEVEL); compared as stored (c_level).
        Kind::Choice(stored) => condition
            .values
            .iter()
            .map(|name| {
                let name = name.trim().to_uppercase();
                stored
                    .contains(&name.to_lowercase().as_str())
                    .then_some(name.clone())
                    .ok_or_else(|| refuse(format!("{name} is no value of {field:?}")))
            })
            .collect::<ApiResult<_>>()?,
        Kind::Text | Kind::Tags => condition
            .values
            .iter()
            .map(|v| crate::validation::text("conditions", v, 200).map(|v| v.to_lowercase()))
            .collect::<ApiResult<_>>()?,
        Kind::Number => condition
            .values
            .iter()
            .map(|v| {
                v.trim()
                    .parse::<Decimal>()
                    .map(|d| d.normalize().to_string())
                    .map_err(|_| refuse(format!("{v} is not a number")))
            })
            .collect::<ApiResult<_>>()?,
        Kind::Count => condition
            .values
            .iter()
            .map(|v| {
                v.trim()
                    .parse::<u32>()
                    .map(|n| n.to_string())
                    .map_err(|_| refuse(format!("{v} is not a count")))
            })
            .collect::<ApiResult<_>>()?,
    };
    Ok(condition)
}

/// The SQL condition `conditions` (as stored) stand for, on a lead `t` and its company `c`.
pub fn compile(conditions: &[ScoringCondition], sql: &mut SqlBuilder) -> ApiResult<String> {
    let parts = conditions
        .iter()
        .map(|condition| compile_one(condition, sql))
        .collect::<ApiResult<Vec<_>>>()?;
    Ok(format!("({})", parts.join(" AND ")))
}

fn compile_one(condition: &ScoringCondition, sql: &mut SqlBuilder) -> ApiResult<String> {
    use ScoringOperator::*;
    let column = condition.field.column();
    let values: Vec<String> = condition.values.iter().map(|v| v.to_lowercase()).collect();
    let values = &values;
    let first = || values.first().cloned().unwrap_or_default();
    let number = |sql: &mut SqlBuilder| -> ApiResult<String> {
        let value: Decimal = first().parse().map_err(ApiError::internal)?;
        Ok(sql.bind(value))
    };
    Ok(match (condition.field.kind(), condition.operator) {
        (_, IsSet) if matches!(condition.field.kind(), Kind::Tags) => {
            format!("cardinality({column}) > 0")
        }
        (_, IsNotSet) if matches!(condition.field.kind(), Kind::Tags) => {
            format!("cardinality({column}) = 0")
        }
        (_, IsSet) => format!("{column} IS NOT NULL"),
        (_, IsNotSet) => format!("{column} IS NULL"),
        (Kind::Choice(_), In) => format!("{column} = ANY({})", sql.bind(values.clone())),
        (Kind::Choice(_), NotIn) => {
            format!(
                "({column} IS NULL OR {column} <> ALL({}))",
                sql.bind(values.clone())
            )
        }
        (Kind::Text, In) => format!("lower({column}) = ANY({})", sql.bind(values.clone())),
        (Kind::Text, NotIn) => format!(
            "({column} IS NULL OR lower({column}) <> ALL({}))",
            sql.bind(values.clone())
        ),
        (Kind::Text, Contains) => {
            format!(
                "lower({column}) LIKE {}",
                sql.bind(contains_pattern(&first()))
            )
        }
        (Kind::Tags, In) => format!("{column} && {}::text[]", sql.bind(values.clone())),
        (Kind::Tags, Contains) => format!("{column} @> ARRAY[{}]::text[]", sql.bind(first())),
        (Kind::Number, AtLeast) => format!("{column} >= {}", number(sql)?),
        (Kind::Number, AtMost) => format!("{column} <= {}", number(sql)?),
        (Kind::Count, operator) => {
            let kind = condition
                .activity_kind
                .map(|kind| format!(" AND a.kind = {}", sql.bind(kind.as_db())))
                .unwrap_or_default();
            let days = sql.bind(condition.within_days.unwrap_or(1));
            let count: i64 = first().parse().map_err(ApiError::internal)?;
            let count = sql.bind(count);
            let compare = if operator == AtLeast { ">=" } else { "<=" };
            format!(
                "(SELECT count(*) FROM activities a WHERE a.organization_id = t.organization_id
                    AND a.lead_id = t.id{kind}
                    AND a.created_at >= now() - make_interval(days => {days})) {compare} {count}"
            )
        }
        (_, operator) => {
            return Err(ApiError::internal(anyhow::anyhow!(
                "a stored condition compares {:?} with {operator:?}",
                condition.field
            )));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn condition(
        field: ScoringField,
        operator: ScoringOperator,
        values: &[&str],
    ) -> ScoringCondition {
        ScoringCondition {
            field,
            operator,
            values: values.iter().map(|v| (*v).to_owned()).collect(),
            activity_kind: None,
            within_days: None,
        }
    }

    #[test]
    fn enum_names_become_stored_values_and_unknown_ones_are_refused() {
        let valid = validate(vec![condition(
            ScoringField::LeadSeniority,
            ScoringOperator::In,
            &["C_LEVEL", "VP"],
        )])
        .unwrap();
        assert_eq!(valid[0].values, ["C_LEVEL", "VP"]);
        assert!(
            validate(vec![condition(
                ScoringField::LeadSeniority,
                ScoringOperator::In,
                &["CEO"]
            )])
            .is_err()
        );
    }

    #[test]
    fn operators_fit_their_fields() {
        use ScoringField::*;
        use ScoringOperator::*;
        assert!(validate(vec![condition(LeadTemperature, AtLeast, &["1"])]).is_err());
        assert!(validate(vec![condition(CompanyEmployeeCount, Contains, &["1"])]).is_err());
        assert!(validate(vec![condition(CompanyEmployeeCount, AtLeast, &["many"])]).is_err());
        assert!(
            validate(vec![condition(ActivityCount, AtLeast, &["2"])]).is_err(),
            "no withinDays"
        );
        let mut count = condition(ActivityCount, AtLeast, &["2"]);
        count.within_days = Some(30);
        assert!(validate(vec![count]).is_ok());
        assert!(validate(vec![]).is_err());
    }
}
