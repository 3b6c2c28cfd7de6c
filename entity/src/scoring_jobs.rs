//! `SeaORM` Entity of `scoring_jobs` (migration 000023), in sea-orm-codegen 2.0's shape

use sea_orm::entity::prelude::*;

#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "scoring_jobs")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub organization_id: Uuid,
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    #[sea_orm(column_type = "JsonBinary")]
    pub filter: Json,
    pub rule_id: Option<Uuid>,
    #[sea_orm(column_type = "Text")]
    pub state: String,
    pub total: i64,
    pub processed: i64,
    pub changed: i64,
    pub after_created_at: Option<DateTimeWithTimeZone>,
    pub after_id: Option<Uuid>,
    #[sea_orm(column_type = "Text", nullable)]
    pub error: Option<String>,
    pub created_by_id: Option<Uuid>,
    pub finished_at: Option<DateTimeWithTimeZone>,
    pub created_at: DateTimeWithTimeZone,
    pub updated_at: DateTimeWithTimeZone,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::organizations::Entity",
        from = "Column::OrganizationId",
        to = "super::organizations::Column::Id",
        on_update = "NoAction",
        on_delete = "Cascade"
    )]
    Organizations,
}

impl Related<super::organizations::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Organizations.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
