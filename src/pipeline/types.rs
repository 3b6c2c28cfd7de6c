use chrono::{DateTime, Utc};
use entity::pipeline_stages;

crate::text_enum! {
    /// What a stage means for the deals in it; a deal's `status` is its stage's kind.
    #[derive(Default)]
    StageKind {
        #[default]
        Open => "open",
        Won => "won",
        Lost => "lost",
    }
}

type Stored<T> = async_graphql::Result<T>;

crate::object! {
    /// A stage of the organization's sales pipeline.
    PipelineStage(pipeline_stages::Model) as PipelineStage {
        /// Unique in the organization, whatever the case.
        name: &str,
        /// The stage's place in the pipeline: 0, 1, 2, ...
        position: i32,
        /// Percent, 0 to 100: how likely a deal in this stage is won.
        win_probability: i32,
        kind: Stored<StageKind>,
        created_at: DateTime<Utc>,
        updated_at: DateTime<Utc>,
    }
}

crate::tenant_rows!(pipeline_stages::Model => "pipeline_stages" as "pipeline_stage");
