//! Structured logs: `RUST_LOG` filters (default `info`), `LOG_FORMAT=json` for machines.

use std::io::IsTerminal;

use tracing_subscriber::{EnvFilter, filter::Targets, fmt, prelude::*};

/// Without `RUST_LOG`: INFO, except PostgreSQL's NOTICEs (the "already exists, skipping" of
/// idempotent set-up), which are not news.
const DEFAULT_FILTER: &str = "info,sqlx::postgres::notice=warn";

/// The filter of `RUST_LOG`'s `directives` (the default when they do not parse): levels by
/// target (`info,leadgraph=debug`) where they say no more than that, as such a filter costs
/// nothing when a request's span is entered and left, at every poll of its future, where
/// `EnvFilter` looks the span up each time; `EnvFilter` for directives on spans or fields
/// (`[request]=debug`).
fn filter(directives: &str) -> (Option<Targets>, Option<EnvFilter>) {
    // Span and field filters are written in brackets, which `Targets` would take for a target.
    let by_target = (!directives.contains('['))
        .then(|| directives.parse::<Targets>().ok())
        .flatten();
    match by_target {
        Some(targets) => (Some(targets), None),
        None => (
            None,
            Some(EnvFilter::try_new(directives).unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER))),
        ),
    }
}

pub fn init(json: bool) {
    let directives = std::env::var("RUST_LOG").unwrap_or_else(|_| DEFAULT_FILTER.to_owned());
    let (targets, env) = filter(&directives);
    let registry = tracing_subscriber::registry().with(targets).with(env);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_by_target_take_the_cheap_filter_and_span_directives_the_full_one() {
        for (directives, cheap) in [
            (DEFAULT_FILTER, true),
            ("info,leadgraph=debug", true),
            ("warn", true),
            ("info,[request]=debug", false),
            ("leadgraph[request{path=/graphql}]=trace", false),
        ] {
            let (targets, env) = filter(directives);
            assert_eq!(
                (targets.is_some(), env.is_some()),
                (cheap, !cheap),
                "{directives}"
            );
        }
    }
}
