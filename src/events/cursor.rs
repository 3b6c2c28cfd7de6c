//! Event cursors: a position in one tenant's log, opaque to clients. The cursor carries a tag
//! of the organization so that a cursor of another tenant's log is refused, not misread.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::{
    error::{ApiError, ApiResult},
    graphql::{decode_cursor, encode_cursor},
};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EventCursor {
    pub position: i64,
}

#[derive(Serialize, Deserialize)]
struct Encoded {
    /// The log's organization, first 32 bits.
    o: u32,
    p: i64,
}

fn tag(organization_id: Uuid) -> u32 {
    (organization_id.as_u128() >> 96) as u32
}

impl EventCursor {
    pub fn encode(self, organization_id: Uuid) -> String {
        encode_cursor(&Encoded {
            o: tag(organization_id),
            p: self.position,
        })
    }

    pub fn decode(cursor: &str, organization_id: Uuid) -> ApiResult<Self> {
        let encoded: Encoded = decode_cursor(cursor, "after")?;
        if encoded.o != tag(organization_id) || encoded.p < 0 {
            return Err(ApiError::bad_input(
                "after",
                "this cursor does not belong to your organization's event log",
            ));
        }
        Ok(Self {
            position: encoded.p,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_round_trips_within_its_organization() {
        let org = Uuid::new_v4();
        let cursor = EventCursor { position: 42 }.encode(org);
        assert_eq!(EventCursor::decode(&cursor, org).unwrap().position, 42);
    }

    #[test]
    fn a_cursor_of_another_organization_is_refused() {
        let cursor = EventCursor { position: 42 }.encode(Uuid::from_u128(1 << 100));
        let err = EventCursor::decode(&cursor, Uuid::from_u128(2 << 100)).unwrap_err();
        assert_eq!(err.code(), "BAD_USER_INPUT");
    }
}
