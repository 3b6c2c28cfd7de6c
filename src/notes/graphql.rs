use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::lead_notes;
use sea_orm::{ActiveModelTrait, ActiveValue::Set, ConnectionTrait, Statement};
use serde_json::json;
use uuid::Uuid;

use crate::{
    audit,
    error::{ApiError, ApiResult},
    graphql::{ChildRelation, ChildTable, ContextExt, NodeKind, decode_id},
    leads::{Lead, LeadId},
    users::User,
    users::via,
    validation,
};

crate::text_enum! {
    NoteType {
        General => "general",
        Meeting => "meeting",
        Call => "call",
        Research => "research",
        Reminder => "reminder",
    }
}

pub struct Note(pub lead_notes::Model);

#[Object]
impl Note {
    pub async fn id(&self) -> ID {
        NodeKind::Note.id(self.0.id)
    }
    async fn note_type(&self) -> async_graphql::Result<NoteType> {
        Ok(NoteType::from_db(&self.0.note_type)?)
    }
    async fn content(&self) -> &str {
        &self.0.content
    }
    /// Visible to its author only.
    async fn is_private(&self) -> bool {
        self.0.is_private
    }
    async fn mentioned_user_ids(&self) -> Vec<ID> {
        self.0
            .mentioned_user_ids
            .iter()
            .map(|id| NodeKind::User.id(*id))
            .collect()
    }
    async fn created_at(&self) -> DateTime<Utc> {
        self.0.created_at.into()
    }
    async fn updated_at(&self) -> DateTime<Utc> {
        self.0.updated_at.into()
    }
    async fn author(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<User>> {
        crate::users::load::<{ via::NOTE_AUTHOR }>(ctx, Some(self.0.author_id)).await
    }
    async fn lead(&self, ctx: &Context<'_>) -> async_graphql::Result<Option<Lead>> {
        Ok(ctx
            .loader()?
            .load_one(LeadId(self.0.lead_id))
            .await?
            .map(Lead))
    }
}

crate::timestamped!(lead_notes::Model);

/// `lead.notes`: the policy hides others' private notes from pages and counts alike.
pub struct LeadNotes;

impl ChildRelation for LeadNotes {
    type Row = lead_notes::Model;
    const CHILDREN: ChildTable = ChildTable {
        table: "lead_notes",
        parent_column: "lead_id",
        condition: "",
    };
}

#[derive(InputObject)]
pub struct AddLeadNoteInput {
    pub lead_id: ID,
    /// 1 to 10,000 characters.
    pub content: String,
    /// Default GENERAL.
    pub note_type: Option<NoteType>,
    /// Visible to you only. Default false.
    pub is_private: Option<bool>,
    /// Users of your organization mentioned in the note.
    pub mentioned_user_ids: Option<Vec<ID>>,
}

#[derive(SimpleObject)]
pub struct NotePayload {
    pub note: Note,
}

#[derive(Default)]
pub struct NoteMutation;

#[Object]
impl NoteMutation {
    /// Adds a note to a live lead, written by the caller.
    async fn add_lead_note(
        &self,
        ctx: &Context<'_>,
        input: AddLeadNoteInput,
    ) -> async_graphql::Result<NotePayload> {
        let principal = ctx.writer()?;
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
        crate::leads::find_live(ctx, lead_id).await?;
        let db = ctx.db()?;
        if !mentioned.is_empty() {
            let found = db
                .query_one_raw(Statement::from_sql_and_values(
                    db.get_database_backend(),
                    "SELECT count(*) FROM users WHERE organization_id = $1 AND id = ANY($2)",
                    [principal.organization_id.into(), mentioned.clone().into()],
                ))
                .await
                .map_err(ApiError::from)?
                .map(|row| row.try_get_by_index::<i64>(0))
                .transpose()
                .map_err(ApiError::from)?
                .unwrap_or(0);
            if found != mentioned.len() as i64 {
                return Err(ApiError::NotFound("mentioned user").into());
            }
        }
        let note = lead_notes::ActiveModel {
            organization_id: Set(principal.organization_id),
            id: Set(Uuid::new_v4()),
            lead_id: Set(lead_id),
            author_id: Set(principal.user_id),
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
        .await
        .map_err(ApiError::from)?;
        audit::record(
            ctx,
            "note.add",
            "note",
            Some(note.id),
            json!({
                "leadId": lead_id, "isPrivate": note.is_private, "mentionedUserIds": mentioned,
            }),
        )
        .await?;
        Ok(NotePayload { note: Note(note) })
    }
}
