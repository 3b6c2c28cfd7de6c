use async_graphql::{ID, InputObject};

use super::{Note, service, types::NoteType};

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
