use async_graphql::{ID, InputObject};
use chrono::{DateTime, Utc};
use entity::lead_notes;

use super::service;
use crate::{graphql::NodeKind, leads::Lead, users::User};

crate::text_enum! {
    NoteType {
        General => "general",
        Meeting => "meeting",
        Call => "call",
        Research => "research",
        Reminder => "reminder",
    }
}

crate::object! {
    Note(lead_notes::Model) as Note {
        note_type: async_graphql::Result<NoteType>,
        content: &str,
        /// Visible to its author only.
        is_private: bool,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
    belongs_to {
        author: User by author_id via NOTE_AUTHOR,
        lead: Lead by lead_id,
    }
    extra {
        async fn mentioned_user_ids(&self) -> Vec<ID> {
            let users = self.0.mentioned_user_ids.iter();
            users.map(|id| NodeKind::User.id(*id)).collect()
        }
    }
}

crate::tenant_rows!(lead_notes::Model => "lead_notes" as "note");

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

crate::payloads! {
    NotePayload { note: Note }
}

crate::mutations! {
    NoteMutation;
    /// Adds a note to a live lead, written by the caller.
    add_lead_note(input: AddLeadNoteInput) -> NotePayload,
        member |acting, ctx| service::add(&acting, input);
}
