use super::AuditLog;

crate::queries! {
    AuditQuery {
        by_creation {
            /// The organization's audit trail, newest first. OWNER and ADMIN only.
            audit_logs: admin AuditLog(Desc);
        }
    }
}
