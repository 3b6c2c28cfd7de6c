//! Filter conditions over typed entity columns: `equals`, `any_of`, ranges, null tests, array
//! overlap and containment, and filters on a related row (`leads(filter: { company: {...} })`).
//! Every value is bound; column and table names come from the entities, never from strings a
//! resolver typed. Absent filter fields add nothing.

use sea_orm::{ColumnTrait, EntityName, Value};

use crate::sql::SqlBuilder;

/// `AND ...` conditions on the rows of one table alias; `$1` is the tenant.
pub struct Where<'a> {
    sql: &'a mut SqlBuilder,
    alias: &'static str,
}

impl<'a> Where<'a> {
    /// Conditions on the table aliased `t` of a list query.
    pub fn on_list(sql: &'a mut SqlBuilder) -> Self {
        Self { sql, alias: "t" }
    }

    /// The qualified name of `column`, for a condition no method here expresses.
    pub fn column<C: ColumnTrait>(&self, column: C) -> String {
        format!("{}.{}", self.alias, column.as_str())
    }

    /// Binds `value` and returns its placeholder.
    pub fn bind(&mut self, value: impl Into<Value>) -> String {
        self.sql.bind(value)
    }

    /// Appends ` AND <condition>`.
    pub fn and(&mut self, condition: &str) {
        self.sql.push(" AND ");
        self.sql.push(condition);
    }

    fn compare<C: ColumnTrait>(&mut self, column: C, op: &str, value: impl Into<Value>) {
        let column = self.column(column);
        let value = self.bind(value);
        self.and(&format!("{column} {op} {value}"));
    }

    pub fn equals<C: ColumnTrait, V: Into<Value>>(&mut self, column: C, value: Option<V>) {
        if let Some(value) = value {
            self.compare(column, "=", value);
        }
    }

    /// Any of `values`; an empty list adds nothing.
    pub fn any_of<C: ColumnTrait, V>(&mut self, column: C, values: &[V])
    where
        V: Clone,
        Vec<V>: Into<Value>,
    {
        if !values.is_empty() {
            let column = self.column(column);
            let values = self.bind(values.to_vec());
            self.and(&format!("{column} = ANY({values})"));
        }
    }

    /// `min <= column`.
    pub fn at_least<C: ColumnTrait, V: Into<Value>>(&mut self, column: C, min: Option<V>) {
        if let Some(min) = min {
            self.compare(column, ">=", min);
        }
    }

    /// `column <= max`.
    pub fn at_most<C: ColumnTrait, V: Into<Value>>(&mut self, column: C, max: Option<V>) {
        if let Some(max) = max {
            self.compare(column, "<=", max);
        }
    }

    /// `column < end` (an exclusive end, as for times).
    pub fn before<C: ColumnTrait, V: Into<Value>>(&mut self, column: C, end: Option<V>) {
        if let Some(end) = end {
            self.compare(column, "<", end);
        }
    }

    /// `column IS NULL` (true) or `IS NOT NULL` (false).
    pub fn null<C: ColumnTrait>(&mut self, column: C, null: Option<bool>) {
        if let Some(null) = null {
            let column = self.column(column);
            self.and(&format!(
                "{column} IS {}NULL",
                if null { "" } else { "NOT " }
            ));
        }
    }

    /// A text-array column holding at least one of `values`.
    pub fn overlaps<C: ColumnTrait>(&mut self, column: C, values: &[String]) {
        if !values.is_empty() {
            let column = self.column(column);
            let values = self.bind(values.to_vec());
            self.and(&format!("{column} && {values}::text[]"));
        }
    }

    /// A text-array column holding all of `values`.
    pub fn contains_all<C: ColumnTrait>(&mut self, column: C, values: &[String]) {
        if !values.is_empty() {
            let column = self.column(column);
            let values = self.bind(values.to_vec());
            self.and(&format!("{column} @> {values}::text[]"));
        }
    }

    /// Rows whose `reference` points at a row of `related` that `conditions` keeps: the
    /// related ids are found once (not once per row), within the tenant, and only when the
    /// related filter says anything at all.
    pub fn related<C: ColumnTrait, E: EntityName>(
        &mut self,
        reference: C,
        related: E,
        conditions: impl FnOnce(&mut Where),
    ) {
        // Written in place (binding in order), then taken back to be wrapped.
        let start = self.sql.sql_len();
        conditions(&mut Where {
            sql: &mut *self.sql,
            alias: "r",
        });
        let said = self.sql.take_since(start);
        if said.is_empty() {
            return;
        }
        let reference = self.column(reference);
        self.and(&format!(
            "{reference} = ANY(ARRAY(SELECT r.id FROM {} r WHERE r.organization_id = $1{said}))",
            related.table_name()
        ));
    }
}

#[cfg(test)]
mod tests {
    use entity::{companies, leads};

    use super::*;

    fn conditions(build: impl FnOnce(&mut Where)) -> (String, usize) {
        let mut sql = SqlBuilder::new("");
        sql.bind(uuid::Uuid::nil());
        build(&mut Where::on_list(&mut sql));
        let statement = sql.build();
        (
            statement.sql,
            statement.values.map(|v| v.0.len()).unwrap_or(0),
        )
    }

    #[test]
    fn absent_fields_add_nothing() {
        let (sql, values) = conditions(|w| {
            w.equals(leads::Column::CompanyId, None::<uuid::Uuid>);
            w.any_of::<_, String>(leads::Column::Status, &[]);
            w.null(leads::Column::AssignedToId, None);
            w.related(leads::Column::CompanyId, companies::Entity, |c| {
                c.any_of::<_, String>(companies::Column::Industry, &[]);
            });
        });
        assert_eq!((sql.as_str(), values), ("", 1));
    }

    #[test]
    fn conditions_name_typed_columns_and_bind_every_value() {
        let (sql, values) = conditions(|w| {
            w.any_of(leads::Column::Status, &["new".to_owned()]);
            w.at_least(leads::Column::Score, Some(10));
            w.null(leads::Column::AssignedToId, Some(true));
            w.related(leads::Column::CompanyId, companies::Entity, |c| {
                c.any_of(companies::Column::Industry, &["energy".to_owned()]);
                c.at_most(companies::Column::FortuneRank, Some(500));
            });
            w.overlaps(leads::Column::Tags, &["soc2".to_owned()]);
        });
        assert_eq!(
            sql,
            " AND t.status = ANY($2) AND t.score >= $3 AND t.assigned_to_id IS NULL \
             AND t.company_id = ANY(ARRAY(SELECT r.id FROM companies r \
             WHERE r.organization_id = $1 AND r.industry = ANY($4) AND r.fortune_rank <= $5)) \
             AND t.tags && $6::text[]"
        );
        assert_eq!(values, 6);
    }
}
