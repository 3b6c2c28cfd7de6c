use entity::users;

crate::tenant_rows!(users::Model => "users" as "user");
