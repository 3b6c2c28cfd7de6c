/// The kinds of event, declared once for both enums of the API: `EventKind` (the generic log)
/// and `LeadEventKind` (`leadEvents`, the lead part of it): a lead's kinds are both's, the
/// kinds of other subjects alone (`others`) `EventKind`'s only.
macro_rules! event_kinds {
    (
        leads { $( $(#[$meta:meta])* $kind:ident => $db:literal ),+ $(,)? }
        others { $( $(#[$other_meta:meta])* $other:ident => $other_db:literal ),+ $(,)? }
    ) => {
        crate::text_enum! {
            /// What happened to an event's subject.
            EventKind {
                $( $(#[$meta])* $kind => $db, )+
                $( $(#[$other_meta])* $other => $other_db, )+
            }
        }

        crate::text_enum! {
            /// What happened to a lead, as `leadEvents` tells it.
            LeadEventKind { $( $(#[$meta])* $kind => $db ),+ }
        }
    };
}

event_kinds! {
    leads {
        Created => "created",
        /// Fields other than those with a kind of their own changed.
        Updated => "updated",
        /// A lead's status changed.
        StatusChanged => "status_changed",
        /// A lead was assigned or unassigned.
        Assigned => "assigned",
        /// A lead's score changed.
        Scored => "scored",
        /// Deleted (soft-deleted for leads).
        Deleted => "deleted",
        Restored => "restored",
        /// A note was added to a lead (`detailId` names it).
        NoteAdded => "note_added",
        /// An activity was logged on a lead (`detailId` names it).
        ActivityLogged => "activity_logged",
    }
    others {
        /// A deal moved to another stage.
        StageChanged => "stage_changed",
        /// A lead joined a campaign (`detailId` names the lead).
        MemberAdded => "member_added",
        /// A campaign member's status changed (`detailId` names the lead).
        MemberStatusChanged => "member_status_changed",
        /// A lead left a campaign (`detailId` names the lead).
        MemberRemoved => "member_removed",
    }
}

crate::text_enum! {
    /// The kind of resource an event is about.
    EventSubjectType {
        Lead => "lead",
        Company => "company",
        Deal => "deal",
        Campaign => "campaign",
    }
}

impl EventSubjectType {
    pub const ALL: [Self; 4] = [Self::Lead, Self::Company, Self::Deal, Self::Campaign];

    /// The global-id kind of this subject's ids.
    pub fn node_kind(self) -> crate::graphql::NodeKind {
        match self {
            Self::Lead => crate::graphql::NodeKind::Lead,
            Self::Company => crate::graphql::NodeKind::Company,
            Self::Deal => crate::graphql::NodeKind::Deal,
            Self::Campaign => crate::graphql::NodeKind::Campaign,
        }
    }

    /// The subject's changed columns that are not named as their field is (snake_case turned
    /// camelCase): references and the currency half of a money field.
    fn renamed_columns(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Self::Lead => &[
                ("company_id", "company"),
                ("assigned_to_id", "assignedTo"),
                ("estimated_deal_currency", "estimatedDealValue"),
            ],
            Self::Company => &[("annual_revenue_currency", "annualRevenue")],
            Self::Deal => &[
                ("stage_id", "stage"),
                ("lead_id", "lead"),
                ("company_id", "company"),
                ("owner_id", "owner"),
                ("partner_id", "partner"),
                ("value_currency", "value"),
            ],
            Self::Campaign => &[
                ("campaign_type", "type"),
                ("budget_currency", "budgetAllocated"),
                ("created_by_id", "createdBy"),
            ],
        }
    }

    /// The fields of this subject that changed columns are exposed as, each once, in the
    /// columns' order.
    pub fn field_names(self, columns: &[String]) -> Vec<String> {
        let mut names: Vec<String> = Vec::with_capacity(columns.len());
        for name in columns.iter().map(|c| self.field_name(c)) {
            if !names.contains(&name) {
                names.push(name);
            }
        }
        names
    }

    fn field_name(self, column: &str) -> String {
        if let Some((_, field)) = self.renamed_columns().iter().find(|(c, _)| *c == column) {
            return (*field).to_owned();
        }
        let mut name = String::with_capacity(column.len());
        let mut upper = false;
        for c in column.chars() {
            if c == '_' {
                upper = true;
            } else if upper {
                name.push(c.to_ascii_uppercase());
                upper = false;
            } else {
                name.push(c);
            }
        }
        name
    }
}

impl From<EventKind> for Option<LeadEventKind> {
    /// The lead kind of the same name; every kind a lead's event has is one.
    fn from(kind: EventKind) -> Self {
        LeadEventKind::from_db(kind.as_db()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn changed_columns_are_named_as_their_subjects_fields() {
        let lead = EventSubjectType::Lead;
        let columns = [
            "status",
            "assigned_to_id",
            "company_id",
            "probability_to_close",
            "estimated_deal_value",
            "estimated_deal_currency",
        ]
        .map(String::from);
        assert_eq!(
            lead.field_names(&columns),
            [
                "status",
                "assignedTo",
                "company",
                "probabilityToClose",
                "estimatedDealValue"
            ]
        );
        let company =
            ["annual_revenue", "annual_revenue_currency", "fortune_rank"].map(String::from);
        assert_eq!(
            EventSubjectType::Company.field_names(&company),
            ["annualRevenue", "fortuneRank"]
        );
    }

    #[test]
    fn every_lead_event_kind_is_an_event_kind() {
        for kind in [
            LeadEventKind::Created,
            LeadEventKind::Updated,
            LeadEventKind::StatusChanged,
            LeadEventKind::Assigned,
            LeadEventKind::Scored,
            LeadEventKind::Deleted,
            LeadEventKind::Restored,
            LeadEventKind::NoteAdded,
            LeadEventKind::ActivityLogged,
        ] {
            let general = EventKind::from_db(kind.as_db()).unwrap();
            assert_eq!(Option::<LeadEventKind>::from(general), Some(kind));
        }
    }
}
