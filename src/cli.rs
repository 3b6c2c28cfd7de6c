//! Subcommands of the `leadgraph` binary. `anyhow` lives here, at the binary's edge only.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use migration::{Migrator, MigratorTrait};

use crate::{config::Config, db, graphql::export_sdl, seed, server, telemetry};

#[derive(Parser, Debug)]
#[command(
    name = "leadgraph",
    version,
    about = "Multi-tenant GraphQL backend over PostgreSQL RLS"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve GraphQL on BIND_ADDR (GraphiQL at /), after the start-up self-check.
    Serve,
    /// Create the database roles and the database (needs ADMIN_DATABASE_URL, a superuser).
    DbInit,
    /// Apply or inspect schema migrations (as the owner role, MIGRATION_DATABASE_URL).
    Migrate {
        #[command(subcommand)]
        action: MigrateAction,
    },
    /// Load the two demo organizations (idempotent).
    SeedDemo {
        /// Leads per organization (100000 loads in about a minute).
        #[arg(long, default_value_t = 200)]
        leads: u32,
    },
    /// Print the GraphQL schema (SDL), or write it to a file.
    ExportSchema {
        #[arg(long)]
        output: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug, Clone, Copy)]
pub enum MigrateAction {
    /// Apply every pending migration.
    Up,
    /// Roll back the last migration.
    Down,
    /// List applied and pending migrations.
    Status,
}

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    if let Command::ExportSchema { output } = &cli.command {
        // Needs no configuration: the schema is code.
        let sdl = export_sdl();
        match output {
            Some(path) => {
                std::fs::write(path, sdl).with_context(|| format!("writing {}", path.display()))?
            }
            None => print!("{sdl}"),
        }
        return Ok(());
    }
    let config = Config::from_env()?;
    telemetry::init(config.log_json);
    match cli.command {
        Command::Serve => {
            let app = server::prepare(&config).await?;
            let listener = server::listen(config.bind_addr)
                .with_context(|| format!("binding {}", config.bind_addr))?;
            tracing::info!(address = %config.bind_addr, "serving GraphQL at /graphql, GraphiQL at /");
            server::serve(
                listener,
                app,
                server::shutdown_signal(),
                config.shutdown_timeout,
            )
            .await?;
        }
        Command::DbInit => {
            let database = db::bootstrap(
                config.require_admin_url()?,
                &config.database_url,
                config.require_migration_url()?,
            )
            .await?;
            tracing::info!(database, "roles and database are in place");
        }
        Command::Migrate { action } => {
            let owner = db::connect_or_explain(
                config.require_migration_url()?,
                &db::PoolSettings::with_size(1),
            )
            .await
            .context("MIGRATION_DATABASE_URL")?;
            match action {
                MigrateAction::Up => Migrator::up(&owner, None).await?,
                MigrateAction::Down => Migrator::down(&owner, Some(1)).await?,
                MigrateAction::Status => Migrator::status(&owner).await?,
            }
        }
        Command::SeedDemo { leads } => {
            let db = db::connect_or_explain(&config.database_url, &db::PoolSettings::with_size(2))
                .await
                .context("DATABASE_URL")?;
            db::require_migrated(&db).await?;
            let started = std::time::Instant::now();
            let counts = seed::seed_demo(&db, leads).await?;
            let owner = db::connect_or_explain(
                config.require_migration_url()?,
                &db::PoolSettings::with_size(1),
            )
            .await
            .context("MIGRATION_DATABASE_URL")?;
            seed::analyze_owned(&owner).await?;
            tracing::info!(?counts, elapsed = ?started.elapsed(), "demo data loaded and analyzed");
        }
        Command::ExportSchema { .. } => unreachable!("handled above"),
    }
    Ok(())
}
