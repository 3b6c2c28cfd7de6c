//! Opaque global ids (Relay): base64url of `<Type>:<uuid>`. Clients must not parse them.

use async_graphql::ID;
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use uuid::Uuid;

pub use super::node::NodeKind;
use crate::error::{ApiError, ApiResult};

impl NodeKind {
    pub fn id(self, uuid: Uuid) -> ID {
        ID(URL_SAFE_NO_PAD.encode(format!("{}:{uuid}", self.name())))
    }
}

/// Decodes any global id into its kind and uuid.
pub fn decode_any(id: &ID) -> ApiResult<(NodeKind, Uuid)> {
    let malformed = || ApiError::bad_input("id", "malformed id");
    let raw = URL_SAFE_NO_PAD
        .decode(id.as_str())
        .map_err(|_| malformed())?;
    let text = String::from_utf8(raw).map_err(|_| malformed())?;
    let (name, uuid) = text.split_once(':').ok_or_else(malformed)?;
    let kind = NodeKind::ALL
        .iter()
        .copied()
        .find(|k| k.name() == name)
        .ok_or_else(malformed)?;
    Ok((kind, Uuid::parse_str(uuid).map_err(|_| malformed())?))
}

/// Decodes an id that must be of `kind`; `field` names the input field in the error.
pub fn decode(id: &ID, kind: NodeKind, field: &'static str) -> ApiResult<Uuid> {
    match decode_any(id) {
        Ok((found, uuid)) if found == kind => Ok(uuid),
        Ok(_) => Err(ApiError::bad_input(
            field,
            format!("not a {} id", kind.name()),
        )),
        Err(_) => Err(ApiError::bad_input(field, "malformed id")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip() {
        let uuid = Uuid::new_v4();
        assert_eq!(
            decode(&NodeKind::Lead.id(uuid), NodeKind::Lead, "id").unwrap(),
            uuid
        );
    }

    #[test]
    fn an_id_of_another_kind_is_refused() {
        let id = NodeKind::Company.id(Uuid::new_v4());
        let err = decode(&id, NodeKind::Lead, "leadId").unwrap_err();
        assert_eq!(err.to_string(), "not a Lead id");
    }

    #[test]
    fn garbage_is_malformed() {
        assert!(decode_any(&ID("not-an-id!".into())).is_err());
        assert!(decode_any(&ID(URL_SAFE_NO_PAD.encode("Lead:nope"))).is_err());
    }
}
