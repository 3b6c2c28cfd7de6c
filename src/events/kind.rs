crate::text_enum! {
    /// What happened to a lead.
    LeadEventKind {
        Created => "created",
        /// Fields other than status, assignee, score and deletion changed.
        Updated => "updated",
        StatusChanged => "status_changed",
        Assigned => "assigned",
        Scored => "scored",
        /// Soft-deleted.
        Deleted => "deleted",
        Restored => "restored",
        NoteAdded => "note_added",
        ActivityLogged => "activity_logged",
    }
}
