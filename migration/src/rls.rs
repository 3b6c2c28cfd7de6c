//! The Row Level Security boilerplate every tenant table gets, written once.

use crate::roles;

/// Describes one tenant table; [`TenantTable::sql`] turns it into: RLS enabled **and forced**
/// (so the owner is subject to it too), one fail-closed policy per command comparing the tenant
/// column with `current_organization_id()`, the `updated_at` trigger, and the app role's grants.
pub struct TenantTable {
    table: &'static str,
    tenant_column: &'static str,
    privileges: &'static str,
    updated_at: bool,
    /// ANDed to the tenant condition for SELECT, UPDATE and DELETE (e.g. private notes).
    visible_if: Option<&'static str>,
    /// ANDed to the tenant condition for INSERT and the new row of UPDATE.
    writable_if: Option<&'static str>,
}

impl TenantTable {
    /// A table whose tenant column is `organization_id`, granted `privileges` to the app role.
    pub fn new(table: &'static str, privileges: &'static str) -> Self {
        Self {
            table,
            tenant_column: "organization_id",
            privileges,
            updated_at: true,
            visible_if: None,
            writable_if: None,
        }
    }

    /// The organizations table is the tenant itself: its `id` is the organization id.
    pub fn tenant_column(mut self, column: &'static str) -> Self {
        self.tenant_column = column;
        self
    }

    /// For append-only tables with no `updated_at` column.
    pub fn without_updated_at(mut self) -> Self {
        self.updated_at = false;
        self
    }

    pub fn visible_if(mut self, condition: &'static str) -> Self {
        self.visible_if = Some(condition);
        self
    }

    pub fn writable_if(mut self, condition: &'static str) -> Self {
        self.writable_if = Some(condition);
        self
    }

    pub fn sql(&self) -> String {
        let Self {
            table,
            tenant_column,
            privileges,
            ..
        } = self;
        let tenant = format!("{tenant_column} = current_organization_id()");
        let and = |extra: Option<&str>| match extra {
            Some(extra) => format!("{tenant} AND ({extra})"),
            None => tenant.clone(),
        };
        let visible = and(self.visible_if);
        let writable = and(self.writable_if);
        let app = roles::APP;
        let trigger = if self.updated_at {
            format!(
                "CREATE TRIGGER {table}_set_updated_at BEFORE UPDATE ON {table} \
                 FOR EACH ROW EXECUTE FUNCTION set_updated_at();"
            )
        } else {
            String::new()
        };
        format!(
            r#"
ALTER TABLE {table} ENABLE ROW LEVEL SECURITY;
ALTER TABLE {table} FORCE ROW LEVEL SECURITY;
CREATE POLICY {table}_select ON {table} FOR SELECT USING ({visible});
CREATE POLICY {table}_insert ON {table} FOR INSERT WITH CHECK ({writable});
CREATE POLICY {table}_update ON {table} FOR UPDATE USING ({visible}) WITH CHECK ({writable});
CREATE POLICY {table}_delete ON {table} FOR DELETE USING ({visible});
GRANT {privileges} ON {table} TO {app};
{trigger}
"#
        )
    }
}
