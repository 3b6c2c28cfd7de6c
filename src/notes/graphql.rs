use async_graphql::{Context, ID, InputObject, Object, SimpleObject};
use chrono::{DateTime, Utc};
use entity::lead_notes;

use super::service;
use crate::{
    graphql::{ContextExt, NodeKind},
    leads::{Lead, LeadId},
    users::User,
    users::via,
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
            .load_one(LeadId::new(self.0.lead_id))
            .await?
            .map(Lead))
    }
}

crate::tenant_rows!(lead_notes::Model => "lead_notes");

crate::children!(
    /// `lead.notes`: the policy hides others' private notes from pages and counts alike.
    LeadNotes: lead_notes::Model, by "lead_id"
);

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
        let note = service::add(&ctx.acting()?, input).await?;
        Ok(NotePayload { note: Note(note) })
    }
}
