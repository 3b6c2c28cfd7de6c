use async_graphql::ID;
use chrono::{DateTime, Utc};
use entity::lead_notes;

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

crate::tenant_rows!(
    // Read with the leads on their pages: decoded by place.
    lead_notes::Model => "lead_notes" as "note" in columns (
        organization_id, id, lead_id, author_id, note_type, content, is_private,
        mentioned_user_ids, created_at, updated_at
    )
);

crate::children!(
    /// `lead.notes`: the policy hides others' private notes from pages and counts alike.
    LeadNotes: lead_notes::Model, by "lead_id"
);
