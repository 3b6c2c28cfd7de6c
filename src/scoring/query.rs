use super::{ScoringJob, ScoringRule};

crate::queries! {
    ScoringQuery {
        by_creation {
            /// The organization's scoring rules, oldest first.
            scoring_rules: member ScoringRule(Asc);
        }
        find {
            scoring_rule: member ScoringRule;
            /// A rescoring job and its progress.
            scoring_job: member ScoringJob;
        }
    }
}
