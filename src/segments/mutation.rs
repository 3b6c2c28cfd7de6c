use async_graphql::{ID, InputObject};
use entity::segments::{self, Column};

use super::Segment;
use crate::{
    error::ApiResult,
    graphql::{NodeKind, decode_id},
    leads::{LeadFilter, storable_filter},
    service::Acting,
    validation::max_text,
};

crate::inputs! {
    create CreateSegmentInput;
    /// Fields left out stay as they are.
    update UpdateSegmentInput;
    fields {
        /// Unique in the organization, whatever the case.
        name "name": String = required(Column::Name, max_text(255)),
        description "description": String = text(Column::Description, 5000),
        /// Validated as `leads(filter:)` validates it, and kept as given.
        filter "filter": LeadFilter = required(Column::Filter, storable_filter),
    }
}

#[derive(InputObject)]
pub struct DeleteSegmentInput {
    pub id: ID,
}

crate::payloads! {
    SegmentPayload { segment: Segment }
    DeleteSegmentPayload { deleted_segment_id: id of Segment }
}

/// Its creator or a MANAGER and above changes a segment.
async fn may_change(acting: &Acting<'_>, id: &ID) -> ApiResult<uuid::Uuid> {
    let id = decode_id(id, NodeKind::Segment, "id")?;
    let refusal = "an agent may change only the segments they saved";
    acting
        .may_change::<segments::Model>(id, "created_by_id", refusal)
        .await?;
    Ok(id)
}

crate::mutations! {
    SegmentMutation;
    /// Saves a lead filter under a name.
    create_segment(input: CreateSegmentInput) -> SegmentPayload,
        member |acting, ctx| async {
            let mut changes = { input }.changes()?;
            changes.set_unaudited(Column::CreatedById, acting.user_id());
            acting.insert::<segments::Model>(changes).await.map_err(|err| err.taken("a segment with this name exists"))
        };
    update_segment(input: UpdateSegmentInput) -> SegmentPayload,
        member |acting, ctx| async {
            let id = may_change(&acting, &input.id).await?;
            let changes = input.changes()?;
            acting.update::<segments::Model>("update", id, changes, "").await.map_err(|err| err.taken("a segment with this name exists"))
        };
    delete_segment(input: DeleteSegmentInput) -> DeleteSegmentPayload,
        member |acting, ctx| async {
            let id = may_change(&acting, &input.id).await?;
            acting.delete::<segments::Model>(id).await
        };
}
