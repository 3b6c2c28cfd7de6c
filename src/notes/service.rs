//! Notes' logic: adding one to a live lead, written by the actor, mentioning users of the
//! organization, with its audit record.

use entity::lead_notes;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, Statement};
use serde_json::json;
use uuid::Uuid;

use super::{mutation::AddLeadNoteInput, types::NoteType};
use crate::{
    error::{ApiError, ApiResult},
    graphql::{NodeKind, decode_id},
    service::Acting,
    validation,
};

/// Adds a note to a live lead.
pub async fn add(acting: &Acting<'_>, input: AddLeadNoteInput) -> ApiResult<lead_notes::Model> {
    let lead_id = decode_id(&input.lead_id, NodeKind::Lead, "leadId")?;
    let content = validation::text("content", &input.content, 10_000)?;
    let mut mentioned = input
        .mentioned_user_ids
        .unwrap_or_default()
        .iter()
        .map(|id| decode_id(id, NodeKind::User, "mentionedUserIds"))
        .collect::<ApiResult<Vec<Uuid>>>()?;
    mentioned.sort();
    mentioned.dedup();
    crate::leads::find_live(acting, lead_id).await?;
    let db = acting.db;
    if !mentioned.is_empty() {
        let found = db
            .query_one_raw(Statement::from_sql_and_values(
                db.get_database_backend(),
                "SELECT count(*) FROM users WHERE organization_id = $1 AND id = ANY($2)",
                [acting.organization_id().into(), mentioned.clone().into()],
            ))
            .await?
            .map(|row| row.try_get_by_index::<i64>(0))
            .transpose()?
            .unwrap_or(0);
        if found != mentioned.len() as i64 {
            return Err(ApiError::NotFound("mentioned user"));
        }
    }
    let note = lead_notes::ActiveModel {
        organization_id: Set(acting.organization_id()),
        id: Set(Uuid::new_v4()),
        lead_id: Set(lead_id),
        author_id: Set(acting.actor.tenant.user_id),
        note_type: Set(input
            .note_type
            .unwrap_or(NoteType::General)
            .as_db()
            .to_owned()),
        content: Set(content),
        is_private: Set(input.is_private.unwrap_or(false)),
        mentioned_user_ids: Set(mentioned.clone()),
        ..Default::default()
    }
    .insert(db)
    .await?;
    acting
        .audit(
            "note.add",
            "note",
            Some(note.id),
            json!({
                "leadId": lead_id, "isPrivate": note.is_private, "mentionedUserIds": mentioned,
            }),
        )
        .await?;
    Ok(note)
}
