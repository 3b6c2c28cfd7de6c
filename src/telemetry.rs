//! Structured logs: `RUST_LOG` filters (default `info`), `LOG_FORMAT=json` for machines.

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, fmt, prelude::*};

/// Without `RUST_LOG`: INFO, except PostgreSQL's NOTICEs (the "already exists, skipping" of
/// idempotent set-up), which are not news.
const DEFAULT_FILTER: &str = "info,sqlx::postgres::notice=warn";

pub fn init(json: bool) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let registry = tracing_subscriber::registry().with(filter);
    if json {
        registry
            .with(fmt::layer().json().with_current_span(true))
            .init();
    } else {
        // Colours only for a person at a terminal, not for files and log collectors.
        let ansi = std::io::stdout().is_terminal();
        registry
            .with(fmt::layer().with_target(false).with_ansi(ansi))
            .init();
    }
}
