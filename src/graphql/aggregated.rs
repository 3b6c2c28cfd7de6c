//! Child rows read as arrays, one per column: how a page carries each parent's first children
//! in its own statement (`joined`). A parent's children arrive as one result row holding their
//! count and, for each column read, `array_agg` of its values, all in the same order; sqlx
//! decodes each array natively (binary), and `tenant_rows!` zips them back into models.
//! Columns that are arrays themselves (`leads.tags`) travel as `jsonb`, since PostgreSQL's
//! arrays of arrays must be rectangular.

use std::sync::Arc;

use chrono::{DateTime, FixedOffset, NaiveDate};
use rust_decimal::Decimal;
use sea_orm::{
    ColumnTrait, ColumnType, DbErr, EntityTrait, IdenStatic, Iterable, ModelTrait, QueryResult,
    RuntimeErr,
};
use serde::de::DeserializeOwned;
use sqlx::{Row, postgres::PgRow, types::Json};
use uuid::Uuid;

use super::Columns;

/// A column type whose values can be read from an aggregated array of them.
pub trait Aggregated: Sized + Default {
    /// The values of the array at `index`; none when it is null (no children).
    fn column(row: &PgRow, index: usize) -> Result<Vec<Self>, sqlx::Error>;
}

macro_rules! aggregated {
    ($($ty:ty),+ $(,)?) => {$(
        impl Aggregated for $ty {
            fn column(row: &PgRow, index: usize) -> Result<Vec<Self>, sqlx::Error> {
                Ok(row.try_get::<Option<Vec<Self>>, _>(index)?.unwrap_or_default())
            }
        }
        impl Aggregated for Option<$ty> {
            fn column(row: &PgRow, index: usize) -> Result<Vec<Self>, sqlx::Error> {
                Ok(row.try_get::<Option<Vec<Self>>, _>(index)?.unwrap_or_default())
            }
        }
    )+};
}

aggregated!(
    Uuid,
    String,
    bool,
    i16,
    i32,
    i64,
    Decimal,
    NaiveDate,
    DateTime<FixedOffset>,
    serde_json::Value,
);

/// Array columns (`leads.tags`, `lead_notes.mentioned_user_ids`), aggregated as `jsonb` (see
/// [`Columns::aggregate_list`]).
impl<T: DeserializeOwned + 'static> Aggregated for Vec<T> {
    fn column(row: &PgRow, index: usize) -> Result<Vec<Self>, sqlx::Error> {
        let values: Option<Vec<Json<Vec<T>>>> = row.try_get(index)?;
        Ok(values
            .unwrap_or_default()
            .into_iter()
            .map(|Json(value)| value)
            .collect())
    }
}

/// One column's aggregated values, handed out in order; a column not read hands out its
/// type's default, as a row decoded by place holds for it.
pub struct AggregatedValues<T>(std::vec::IntoIter<T>);

impl<T: Aggregated> AggregatedValues<T> {
    /// The values of the column at `place` of the model, whose columns start at `first`.
    pub fn read(row: &PgRow, first: usize, place: usize, read: Columns) -> Result<Self, DbErr> {
        let values = match read.has(place) {
            true => T::column(row, first + place).map_err(query_error)?,
            false => Vec::new(),
        };
        Ok(Self(values.into_iter()))
    }

    #[allow(clippy::should_implement_trait)]
    pub fn next(&mut self) -> T {
        self.0.next().unwrap_or_default()
    }
}

/// How many children a result row aggregates (its column at `first`), and the row as sqlx
/// gives it.
pub fn aggregated_rows(row: &QueryResult, first: usize) -> Result<(usize, &PgRow), DbErr> {
    let row = row
        .try_as_pg_row()
        .ok_or_else(|| DbErr::Custom("aggregated children need a PostgreSQL row".into()))?;
    let count: i64 = row.try_get(first).map_err(query_error)?;
    Ok((usize::try_from(count).unwrap_or_default(), row))
}

fn query_error(err: sqlx::Error) -> DbErr {
    DbErr::Query(RuntimeErr::SqlxError(Arc::new(err)))
}

impl Columns {
    /// The select lists of a parent's children aggregated, the children's rows being `x` and
    /// their table `t`: the inner list (the columns read) and the aggregates (their count, then
    /// each of `M`'s columns in its order: the array of its values, or NULL when not read).
    pub fn aggregate_list<M: ModelTrait>(self) -> (String, String) {
        let mut inner = Vec::new();
        let mut aggregates = vec!["count(*) AS lg_children".to_owned()];
        for (place, column) in <M::Entity as EntityTrait>::Column::iter().enumerate() {
            let name = column.as_str();
            if !self.has(place) {
                aggregates.push(format!("NULL AS \"{name}\""));
                continue;
            }
            inner.push(format!("t.{name}"));
            let value = match column.def().get_column_type() {
                ColumnType::Array(_) => format!("to_jsonb(x.{name})"),
                _ => format!("x.{name}"),
            };
            aggregates.push(format!("array_agg({value}) AS \"{name}\""));
        }
        (inner.join(", "), aggregates.join(", "))
    }
}
