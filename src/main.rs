//! The `leadgraph` binary: configuration, telemetry, then the chosen subcommand.

use clap::Parser;

/// A quarter of the server's CPU went to glibc's allocator under load (perf, docs/benchmarks.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A missing .env is normal; variables may come from the real environment.
    let _ = dotenvy::dotenv();
    let cli = leadgraph::cli::Cli::parse();
    leadgraph::cli::run(cli).await
}
