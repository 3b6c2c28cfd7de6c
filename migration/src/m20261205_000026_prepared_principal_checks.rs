//! The principal check leaves the database: the server prepares it on each connection
//! (`PREPARE`, one statement per kind of credential; `auth::credentials`) and runs it by
//! `EXECUTE` in the batch that opens a request. The PL/pgSQL function cost more than the
//! statements it ran: its call was a statement parsed and planned on every request, and its
//! `SET search_path` was applied and undone around every call. PostgreSQL's CPU per request
//! of the benchmark's one-lead query fell by about a quarter (docs/benchmarks.md, "Sixth
//! sitting").

use sea_orm_migration::prelude::*;

use crate::{
    m20261205_000024_request_principal::{UNDO, granted_principal_function},
    m20261205_000025_principal_generic_plans::SPLIT,
    script_migration,
};

#[derive(DeriveMigrationName)]
pub struct Migration;

script_migration!(UNDO, &granted_principal_function(SPLIT));
