//! Relay connections with keyset pagination: a cursor holds the sort key of a row and its id,
//! so page 1000 costs what page 1 costs. `totalCount` runs only when a client selects it.

use async_graphql::{
    Context, Lookahead, Object, OutputType,
    connection::{Connection, Edge},
};
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use sea_orm::{ConnectionTrait, Statement};
use serde::{Deserialize, Serialize, de::DeserializeOwned};
use uuid::Uuid;

use super::{context::ContextExt, loader::ChildCount};
use crate::error::{ApiError, ApiResult};

pub const DEFAULT_PAGE_SIZE: i32 = 20;
pub const MAX_PAGE_SIZE: i32 = 100;

/// The four Relay arguments as a client sent them.
#[derive(Default, Debug)]
pub struct PageArgs {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// A validated request for one page: how many rows, which way, from where.
#[derive(Debug, Clone)]
pub struct Window<C> {
    pub limit: u64,
    pub backward: bool,
    pub cursor: Option<C>,
    /// Whether the row beyond the page is fetched, to tell if rows follow in its direction.
    pub look_ahead: bool,
}

impl PageArgs {
    pub fn new(
        first: Option<i32>,
        after: Option<String>,
        last: Option<i32>,
        before: Option<String>,
    ) -> Self {
        Self {
            first,
            after,
            last,
            before,
        }
    }

    /// Checks the sizes and directions, and reads the cursor with `decode` (given the cursor
    /// and the name of the argument it came in, for errors).
    pub fn window<C>(
        self,
        decode: impl Fn(&str, &'static str) -> ApiResult<C>,
    ) -> ApiResult<Window<C>> {
        let size = |value: i32, field: &'static str| {
            if !(0..=MAX_PAGE_SIZE).contains(&value) {
                return Err(ApiError::bad_input(
                    field,
                    format!("`{field}` must be between 0 and {MAX_PAGE_SIZE}"),
                ));
            }
            Ok(value as u64)
        };
        match (self.first, self.last) {
            (Some(_), Some(_)) => Err(ApiError::bad_input(
                "last",
                "give `first` or `last`, not both",
            )),
            (_, Some(last)) => {
                if self.after.is_some() {
                    return Err(ApiError::bad_input("after", "`after` goes with `first`"));
                }
                Ok(Window {
                    limit: size(last, "last")?,
                    backward: true,
                    cursor: self
                        .before
                        .as_deref()
                        .map(|c| decode(c, "before"))
                        .transpose()?,
                    look_ahead: true,
                })
            }
            (first, None) => {
                if self.before.is_some() {
                    return Err(ApiError::bad_input("before", "`before` goes with `last`"));
                }
                Ok(Window {
                    limit: size(first.unwrap_or(DEFAULT_PAGE_SIZE), "first")?,
                    backward: false,
                    cursor: self
                        .after
                        .as_deref()
                        .map(|c| decode(c, "after"))
                        .transpose()?,
                    look_ahead: true,
                })
            }
        }
    }
}

impl<C> Window<C> {
    /// The direction rows are scanned in, given the order the client sees: the comparison
    /// operator for the cursor and the SQL order keyword.
    pub fn scan(&self, descending: bool) -> (&'static str, &'static str) {
        if descending != self.backward {
            ("<", "DESC")
        } else {
            (">", "ASC")
        }
    }

    /// Fetches the row beyond the page only when the connection's selection asks whether rows
    /// follow in the page's direction (`pageInfo`'s `hasNextPage` forward, `hasPreviousPage`
    /// backward; through fragments, and a field under `@skip` counts). A dashboard's nested
    /// pages select nodes only, and the extra row was a sixth of the activities it read.
    pub fn for_selection(self, page: &Lookahead<'_>) -> Self {
        let asked = if self.backward {
            "hasPreviousPage"
        } else {
            "hasNextPage"
        };
        self.looking_ahead(page.field("pageInfo").field(asked).exists())
    }

    fn looking_ahead(self, look_ahead: bool) -> Self {
        Self { look_ahead, ..self }
    }

    /// Rows to fetch: the page, and the row beyond it when [`look_ahead`](Self::look_ahead).
    pub fn fetch_limit(&self) -> i64 {
        self.limit as i64 + i64::from(self.look_ahead)
    }

    /// Cuts the extra row and restores client order.
    pub fn slice<T>(&self, mut rows: Vec<T>) -> Slice<T> {
        let more = rows.len() as u64 > self.limit;
        rows.truncate(self.limit as usize);
        if self.backward {
            rows.reverse();
        }
        let came_from_cursor = self.cursor.is_some();
        Slice {
            rows,
            has_previous: if self.backward {
                more
            } else {
                came_from_cursor
            },
            has_next: if self.backward {
                came_from_cursor
            } else {
                more
            },
        }
    }
}

pub struct Slice<T> {
    pub rows: Vec<T>,
    pub has_previous: bool,
    pub has_next: bool,
}

pub fn encode_cursor<C: Serialize>(cursor: &C) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(cursor).expect("cursor serializes"))
}

/// Reads a cursor made by [`encode_cursor`]; `field` names the argument it came in.
pub fn decode_cursor<C: DeserializeOwned>(cursor: &str, field: &'static str) -> ApiResult<C> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or_else(|| ApiError::bad_input(field, format!("`{field}` is not a valid cursor")))
}

/// What a list cursor belongs to: a list and one of its orderings, direction included. A
/// cursor of another list or ordering is refused, not misread as a position in this one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CursorScope {
    pub list: &'static str,
    pub ordering: &'static str,
    pub descending: bool,
}

/// A list cursor as encoded: its scope, the row's sort key and the row's id.
#[derive(Serialize, Deserialize)]
struct ScopedCursor {
    l: String,
    o: String,
    d: bool,
    k: serde_json::Value,
    i: Uuid,
}

impl CursorScope {
    /// The cursor of a row with sort key `key` (JSON, exact) and id `id`.
    pub fn encode(&self, key: serde_json::Value, id: Uuid) -> String {
        encode_cursor(&ScopedCursor {
            l: self.list.to_owned(),
            o: self.ordering.to_owned(),
            d: self.descending,
            k: key,
            i: id,
        })
    }

    /// The sort key and id of a cursor of this scope; anything else is BAD_USER_INPUT naming
    /// `field`.
    pub fn decode(
        &self,
        cursor: &str,
        field: &'static str,
    ) -> ApiResult<(serde_json::Value, Uuid)> {
        let decoded: ScopedCursor = decode_cursor(cursor, field)?;
        if decoded.l != self.list || decoded.o != self.ordering || decoded.d != self.descending {
            return Err(ApiError::bad_input(
                field,
                format!("`{field}` is a cursor of another list or ordering"),
            ));
        }
        Ok((decoded.k, decoded.i))
    }

    /// A cursor of a list newest first by creation: the row's `(created_at, id)`.
    pub fn decode_created(
        &self,
        cursor: &str,
        field: &'static str,
    ) -> ApiResult<super::ChildCursor> {
        let (created_at, id) = self.decode(cursor, field)?;
        let created_at = serde_json::from_value(created_at)
            .map_err(|_| ApiError::bad_input(field, format!("`{field}` is not a valid cursor")))?;
        Ok(super::ChildCursor { created_at, id })
    }
}

/// Where `totalCount` comes from, computed only when selected.
pub enum CountSource {
    /// A `SELECT count(*)` with the same filter as the page.
    Sql(Statement),
    /// Children of one parent, counted by a batched loader.
    Children(ChildCount),
    /// Any other count a batched loader gives (`segment.leads`).
    Loaded(Box<dyn CountLoad>),
}

/// A count that a batched loader gives.
pub trait CountLoad: Send + Sync {
    fn count<'a>(
        &'a self,
        ctx: &'a Context<'_>,
    ) -> futures::future::BoxFuture<'a, async_graphql::Result<i64>>;
}

/// The extra field every connection has.
pub struct TotalCount(pub CountSource);

#[Object]
impl TotalCount {
    /// Rows matching the filter across all pages. Costs a count query: select it only when
    /// needed.
    /// A GraphQL Int (32 bits): a filter matching more rows is refused (narrow it) rather
    /// than answered with a wrong number.
    async fn total_count(&self, ctx: &Context<'_>) -> async_graphql::Result<i32> {
        let count = match &self.0 {
            CountSource::Sql(statement) => {
                let row = ctx
                    .db()?
                    .query_one_raw(statement.clone())
                    .await
                    .map_err(ApiError::from)?;
                row.map(|r| r.try_get_by_index::<i64>(0))
                    .transpose()
                    .map_err(ApiError::from)?
                    .unwrap_or(0)
            }
            CountSource::Children(key) => ctx.loader()?.load_one(*key).await?.unwrap_or(0),
            CountSource::Loaded(count) => count.count(ctx).await?,
        };
        Ok(i32::try_from(count).map_err(|_| {
            ApiError::bad_input(
                "totalCount",
                "more rows match than `totalCount` can count: narrow the filter",
            )
        })?)
    }
}

pub type Page<N> = Connection<String, N, TotalCount>;

/// Builds the connection of field `ctx` from a slice: `cursor` gives a row's cursor, `node` its
/// GraphQL node. Only the cursors the selection reads are made (see [`CursorsRead`]); an edge
/// whose cursor is not read holds an empty one that no response shows.
pub fn connection<T, N: OutputType>(
    ctx: &Context<'_>,
    slice: Slice<T>,
    total: CountSource,
    cursor: impl Fn(&T) -> String,
    node: impl Fn(T) -> N,
) -> Page<N> {
    let read = CursorsRead::of(ctx);
    let last = slice.rows.len().saturating_sub(1);
    let mut page =
        Connection::with_additional_fields(slice.has_previous, slice.has_next, TotalCount(total));
    page.edges = slice
        .rows
        .into_iter()
        .enumerate()
        .map(|(place, row)| {
            let read = match read {
                CursorsRead::Every => true,
                CursorsRead::Ends => place == 0 || place == last,
                CursorsRead::None => false,
            };
            let cursor = if read { cursor(&row) } else { String::new() };
            Edge::new(cursor, node(row))
        })
        .collect();
    page
}

/// Which cursors a connection's selection reads. Encoding one (JSON, then base64) cost more
/// than decoding the row it points at, and a dashboard selects `nodes` only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CursorsRead {
    /// `edges { cursor }`.
    Every,
    /// Only `pageInfo`'s `startCursor` or `endCursor`: the first and last edge's.
    Ends,
    None,
}

impl CursorsRead {
    /// Looks through fragments, and counts a field under `@skip`/`@include` as read.
    fn of(ctx: &Context<'_>) -> Self {
        let page = ctx.look_ahead();
        let page_info = page.field("pageInfo");
        if page.field("edges").field("cursor").exists() {
            Self::Every
        } else if page_info.field("startCursor").exists() || page_info.field("endCursor").exists() {
            Self::Ends
        } else {
            Self::None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(first: Option<i32>, last: Option<i32>) -> ApiResult<Window<i32>> {
        PageArgs {
            first,
            last,
            ..Default::default()
        }
        .window(decode_cursor)
    }

    #[test]
    fn page_size_is_capped_at_100() {
        assert!(window(Some(100), None).is_ok());
        let err = window(Some(101), None).unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
        assert!(window(Some(-1), None).is_err());
        assert!(window(None, Some(101)).is_err());
    }

    #[test]
    fn first_and_last_together_are_refused() {
        assert!(window(Some(1), Some(1)).is_err());
    }

    #[test]
    fn a_forward_slice_reports_more_rows() {
        let w = window(Some(2), None).unwrap();
        let slice = w.slice(vec![1, 2, 3]);
        assert_eq!(slice.rows, vec![1, 2]);
        assert!(slice.has_next && !slice.has_previous);
    }

    #[test]
    fn a_page_not_looking_ahead_fetches_its_rows_only_and_reports_none_beyond() {
        let looking = window(Some(2), None).unwrap();
        assert_eq!(looking.fetch_limit(), 3);
        let w = looking.looking_ahead(false);
        assert_eq!(w.fetch_limit(), 2);
        let slice = w.slice(vec![1, 2]);
        assert_eq!(slice.rows, vec![1, 2]);
        assert!(!slice.has_next && !slice.has_previous);
        assert_eq!(
            window(None, Some(0))
                .unwrap()
                .looking_ahead(false)
                .fetch_limit(),
            0
        );
    }

    #[test]
    fn a_backward_slice_is_returned_in_client_order() {
        let w = window(None, Some(2)).unwrap();
        let slice = w.slice(vec![3, 2, 1]);
        assert_eq!(slice.rows, vec![2, 3]);
        assert!(slice.has_previous && !slice.has_next);
    }

    #[test]
    fn descending_forward_scans_downwards() {
        assert_eq!(window(Some(1), None).unwrap().scan(true), ("<", "DESC"));
        assert_eq!(window(None, Some(1)).unwrap().scan(true), (">", "ASC"));
    }

    #[test]
    fn cursors_round_trip_and_garbage_is_refused() {
        let encoded = encode_cursor(&(42, "x"));
        assert_eq!(
            decode_cursor::<(i32, String)>(&encoded, "after").unwrap(),
            (42, "x".into())
        );
        assert!(decode_cursor::<(i32, String)>("%%%", "after").is_err());
    }

    #[test]
    fn a_cursor_answers_only_to_its_own_list_and_ordering() {
        let by_name = CursorScope {
            list: "companies",
            ordering: "name",
            descending: false,
        };
        let id = Uuid::from_u128(7);
        let cursor = by_name.encode(serde_json::json!("Initech"), id);
        assert_eq!(
            by_name.decode(&cursor, "after").unwrap(),
            (serde_json::json!("Initech"), id)
        );
        for other in [
            CursorScope {
                list: "leads",
                ..by_name
            },
            CursorScope {
                ordering: "created_at",
                ..by_name
            },
            CursorScope {
                descending: true,
                ..by_name
            },
        ] {
            let err = other.decode(&cursor, "before").unwrap_err();
            assert_eq!(err.code(), "BAD_USER_INPUT", "{other:?}");
            assert!(matches!(
                err,
                ApiError::BadUserInput {
                    field: Some("before"),
                    ..
                }
            ));
        }
    }
}
