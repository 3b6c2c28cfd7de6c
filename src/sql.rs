//! A tiny builder for hand-written SQL with numbered parameters. Dynamic filters stay readable
//! SQL, and every value is bound, never formatted in.

use async_graphql::MaybeUndefined;
use sea_orm::{ColumnTrait, DbBackend, IdenStatic, Statement, Value};
use serde::Serialize;

use crate::{error::ApiResult, graphql::patch, validation};

#[derive(Default, Clone)]
pub struct SqlBuilder {
    sql: String,
    values: Vec<Value>,
}

impl SqlBuilder {
    pub fn new(sql: &str) -> Self {
        Self {
            sql: sql.to_owned(),
            values: Vec::new(),
        }
    }

    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.sql.push_str(sql);
        self
    }

    /// Length of the SQL text so far, to [`take_since`](Self::take_since) later.
    pub fn sql_len(&self) -> usize {
        self.sql.len()
    }

    /// Removes and returns the SQL text written since `start`, keeping its bound values: to
    /// wrap conditions once it is known whether there are any.
    pub fn take_since(&mut self, start: usize) -> String {
        self.sql.split_off(start)
    }

    /// Binds `value` and returns its placeholder (`$n`).
    pub fn bind(&mut self, value: impl Into<Value>) -> String {
        self.values.push(value.into());
        format!("${}", self.values.len())
    }

    pub fn build(&self) -> Statement {
        Statement::from_sql_and_values(DbBackend::Postgres, &self.sql, self.values.clone())
    }
}

/// The `SET` list of a partial update, and the audit record of what it changes.
#[derive(Default)]
pub struct Changes {
    assignments: Vec<(&'static str, Value)>,
    audit: serde_json::Map<String, serde_json::Value>,
}

impl Changes {
    /// Sets `column` to `value`; `field` and `shown` are what the audit log records.
    pub fn set(
        &mut self,
        column: impl IdenStatic,
        value: impl Into<Value>,
        field: &str,
        shown: serde_json::Value,
    ) {
        self.assignments.push((column.as_str(), value.into()));
        self.audit.insert(field.to_owned(), shown);
    }

    /// Soft-deletes (a time) or restores (none) the row of a table with a `deleted_at` column.
    pub fn set_deleted_at(&mut self, at: Option<chrono::DateTime<chrono::FixedOffset>>) {
        self.assignments.push(("deleted_at", at.into()));
        self.audit
            .insert("deletedAt".to_owned(), serde_json::json!(at));
    }

    /// Sets `column` to a value the audit log must not show (a secret's hash).
    pub fn set_unaudited(&mut self, column: impl IdenStatic, value: impl Into<Value>) {
        self.assignments.push((column.as_str(), value.into()));
    }

    /// A field the input may leave out (absent: unchanged). `rule` validates a given value,
    /// naming `field` in its errors, and makes the column's value.
    pub fn field<C: ColumnTrait, T, V>(
        &mut self,
        column: C,
        field: &'static str,
        value: Option<T>,
        rule: impl FnOnce(T) -> ApiResult<V>,
    ) -> ApiResult<()>
    where
        V: Into<Value> + Serialize + Clone,
    {
        if let Some(value) = value {
            let value = rule(value)?;
            let shown = serde_json::json!(value);
            self.set(column, value, field, shown);
        }
        Ok(())
    }

    /// A nullable field: absent leaves it, null clears it, a value passes `rule`.
    pub fn nullable<C: ColumnTrait, T, V>(
        &mut self,
        column: C,
        field: &'static str,
        value: MaybeUndefined<T>,
        rule: impl FnOnce(T) -> ApiResult<V>,
    ) -> ApiResult<()>
    where
        Option<V>: Into<Value>,
        V: Serialize,
    {
        if let Some(value) = patch(value) {
            let value = value.map(rule).transpose()?;
            let shown = serde_json::json!(value);
            self.set(column, value, field, shown);
        }
        Ok(())
    }

    /// A nullable text field of at most `max` characters; empty clears it, as null does.
    pub fn nullable_text<C: ColumnTrait>(
        &mut self,
        column: C,
        field: &'static str,
        value: MaybeUndefined<String>,
        max: usize,
    ) -> ApiResult<()> {
        if let Some(value) = patch(value) {
            let value = validation::optional_text(field, value.as_deref(), max)?;
            let shown = serde_json::json!(value);
            self.set(column, value, field, shown);
        }
        Ok(())
    }

    /// A money field over an amount column and its currency column: absent leaves both, null
    /// clears the amount (the currency stays, it has a default), a value is validated for its
    /// currency. The audit log records the two columns as one `field`.
    pub fn money<C: ColumnTrait>(
        &mut self,
        (amount_column, currency_column): (C, C),
        field: &'static str,
        value: MaybeUndefined<crate::numbers::MoneyInput>,
    ) -> ApiResult<()> {
        match patch(value) {
            None => {}
            Some(None) => self.set(
                amount_column,
                Option::<rust_decimal::Decimal>::None,
                field,
                serde_json::Value::Null,
            ),
            Some(Some(money)) => {
                let (amount, currency) = money.validate(field)?;
                let shown =
                    serde_json::json!({ "amount": amount.to_string(), "currency": currency });
                self.set(amount_column, amount, field, shown);
                self.assignments
                    .push((currency_column.as_str(), currency.into()));
            }
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.assignments.is_empty()
    }

    pub fn audit(&self) -> serde_json::Value {
        serde_json::Value::Object(self.audit.clone())
    }

    /// `INSERT INTO table (organization_id, <columns>) VALUES (...) RETURNING *`: a new row of
    /// the organization; the columns not set take their defaults.
    pub fn insert(&self, table: &str, organization_id: uuid::Uuid) -> Statement {
        let mut sql = SqlBuilder::new("");
        let mut columns = vec!["organization_id"];
        let mut values = vec![sql.bind(organization_id)];
        for (column, value) in &self.assignments {
            columns.push(column);
            values.push(sql.bind(value.clone()));
        }
        sql.push(&format!(
            "INSERT INTO {table} ({}) VALUES ({}) RETURNING *",
            columns.join(", "),
            values.join(", ")
        ));
        sql.build()
    }

    /// `UPDATE table SET ... WHERE organization_id = $1 AND id = $2 AND <condition> RETURNING *`.
    pub fn update(
        &self,
        table: &str,
        organization_id: uuid::Uuid,
        id: uuid::Uuid,
        condition: &str,
    ) -> Statement {
        let mut sql = SqlBuilder::new("");
        let org = sql.bind(organization_id);
        let id = sql.bind(id);
        let sets: Vec<String> = self
            .assignments
            .iter()
            .map(|(column, value)| format!("{column} = {}", sql.bind(value.clone())))
            .collect();
        sql.push(&format!(
            "UPDATE {table} SET {} WHERE organization_id = {org} AND id = {id} {condition} RETURNING *",
            sets.join(", ")
        ));
        sql.build()
    }
}

/// `<head> WHERE organization_id = $1 AND id = $2 RETURNING *`: an UPDATE or DELETE of one row
/// of a tenant table, e.g. `returning_row("DELETE FROM webhook_endpoints", org, id)`.
pub fn returning_row(head: &str, organization_id: uuid::Uuid, id: uuid::Uuid) -> Statement {
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(organization_id);
    let id = sql.bind(id);
    sql.push(&format!(
        "{head} WHERE organization_id = {org} AND id = {id} RETURNING *"
    ));
    sql.build()
}

/// The one row `statement` returns, or NOT_FOUND naming `what`.
pub async fn one_or_not_found<M: sea_orm::FromQueryResult>(
    conn: &impl sea_orm::ConnectionTrait,
    statement: Statement,
    what: &'static str,
) -> crate::error::ApiResult<M> {
    M::find_by_statement(statement)
        .one(conn)
        .await?
        .ok_or(crate::error::ApiError::NotFound(what))
}

/// One row of a tenant table by id (as visible under the current policies).
pub async fn find_by_id<M: sea_orm::FromQueryResult>(
    conn: &impl sea_orm::ConnectionTrait,
    table: &str,
    organization_id: uuid::Uuid,
    id: uuid::Uuid,
) -> Result<Option<M>, sea_orm::DbErr> {
    let mut sql = SqlBuilder::new("");
    let org = sql.bind(organization_id);
    let id = sql.bind(id);
    sql.push(&format!(
        "SELECT * FROM {table} WHERE organization_id = {org} AND id = {id}"
    ));
    M::find_by_statement(sql.build()).one(conn).await
}

/// `%value%` for a case-insensitive LIKE, with the wildcards in `value` escaped.
pub fn contains_pattern(value: &str) -> String {
    let escaped = value
        .trim()
        .to_lowercase()
        .replace('\\', "\\\\")
        .replace('%', "\\%")
        .replace('_', "\\_");
    format!("%{escaped}%")
}
