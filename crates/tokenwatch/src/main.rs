//! `tokenwatch`: one binary that hosts any subset of the services (`serve`), prepares the
//! database (`migrate`), mints development tokens (`token issue`), and talks to a running server
//! (`tenant ...`).
//!
//! # Layout
//!
//! - `cli`: the command line;
//! - `serve`: composes the services into one process;
//! - `commands`: one module per client or maintenance command;
//! - `output`: tables and JSON on stdout.

mod cli;
mod commands;
mod output;
mod serve;

use std::process::ExitCode;

use clap::Parser;

use crate::cli::{Cli, Command};

// Used by the integration tests in tests/, which share this package's dev-dependencies.
#[cfg(test)]
use sqlx as _;
#[cfg(test)]
use tokenwatch_msfake as _;
#[cfg(test)]
use tokenwatch_psafake as _;
#[cfg(test)]
use tokenwatch_test_utils as _;
#[cfg(test)]
use uuid as _;

/// Exit code of `ingest` when every file was sent but some records were rejected.
const EXIT_REJECTED: u8 = 3;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(error) = tokenwatch_telemetry::init_logging(&cli.log) {
        output::error(&error.into());
        return ExitCode::from(2);
    }
    let result = match cli.command {
        Command::Serve(args) => serve::run(args).await,
        Command::Migrate(args) => commands::migrate::run(args).await,
        Command::Token(command) => commands::token::run(command),
        Command::Tenant(command) => commands::tenant::run(command).await,
        Command::Config(command) => commands::config::run(command),
        Command::Health(args) => commands::health::run(args).await,
        Command::Findings(command) => commands::findings::run(command).await,
        Command::Verdict(args) => commands::verdict::run(args).await,
        Command::Respond(args) => commands::actions::respond(args).await,
        Command::Actions(command) => commands::actions::run(command).await,
        Command::Policy(command) => commands::policy::run(command).await,
        Command::Webhooks(command) => commands::webhooks::run(command).await,
        Command::Psa(command) => commands::psa::run(command).await,
        Command::Report(args) => commands::report::run(args).await,
        Command::Suppressions(command) => commands::suppressions::run(command).await,
        Command::Connectors(command) => commands::connectors::run(command).await,
        Command::Scan(args) => commands::scan::run(args),
        Command::Simulate(args) => commands::simulate::run(args),
        Command::Eval(args) => commands::eval::run(args),
        Command::Ingest(args) => match commands::ingest::run(args).await {
            // Everything was sent, but some records were refused: scripts must notice.
            Ok(true) => return ExitCode::from(EXIT_REJECTED),
            Ok(false) => Ok(()),
            Err(error) => Err(error),
        },
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            output::error(&error);
            ExitCode::FAILURE
        }
    }
}
