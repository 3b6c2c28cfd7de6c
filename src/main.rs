//! The `leadgraph` binary: configuration, telemetry, then the chosen subcommand.

use clap::Parser;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    // A missing .env is normal; variables may come from the real environment.
    let _ = dotenvy::dotenv();
    let cli = leadgraph::cli::Cli::parse();
    leadgraph::cli::run(cli).await
}
