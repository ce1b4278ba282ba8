//! The `portcullis` binary: parse the command line, run it.

use clap::Parser;
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    portcullis_server::cli::run(portcullis_server::cli::Cli::parse()).await
}
