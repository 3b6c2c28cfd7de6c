//! The `leadgraph` binary: configuration, telemetry, then the chosen subcommand.

use std::process::ExitCode;

use clap::Parser;

/// A quarter of the server's CPU went to glibc's allocator under load (perf, docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> ExitCode {
    // A missing .env is normal; variables may come from the real environment.
    let _ = dotenvy::dotenv();
    let cli = leadgraph::cli::Cli::parse();
    match leadgraph::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // One line, the causes joined: what failed and why, without a backtrace.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
