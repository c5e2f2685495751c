//! `hallmark`: the one binary of an Official Images program.
//!
//! It is deliberately thin: it parses the command line, calls the library crates, and prints
//! their answers as a table or as JSON (`--format json`). Everything it knows about images,
//! library files or registries lives in those crates.

mod admin_cmd;
mod attest_cmd;
mod build_cmd;
mod build_logs_cmd;
mod build_push;
mod build_scan;
mod data_dir;
mod db_cmd;
mod document_time;
mod fsck_cmd;
mod gc_cmd;
mod key_cmd;
mod library_cmd;
mod output;
mod provenance_attest;
mod publish_cmd;
mod remote;
mod scan_cmd;
mod serve_cmd;
mod sign_cmd;
mod signatures;
mod stored_scans;
mod verify_cmd;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output::{Format, OutputFormat};

/// Run an Official Images program: library, registry, builds, scans and trust.
#[derive(Debug, Parser)]
#[command(name = "hallmark", version, propagate_version = true)]
struct Cli {
    /// Output format of commands that print data.
    #[arg(long, global = true, value_enum, default_value_t = OutputFormat::Text)]
    format: OutputFormat,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read, check and reason about library definition files (bashbrew's commands).
    Library(library_cmd::LibraryArgs),
    /// Plan (--plan) and run the builds of library entries, per architecture; push them with
    /// --registry; `build logs` shows a build's log.
    Build(build_cmd::BuildArgs),
    /// Assemble each Tag and SharedTag under library/ from the per-architecture builds.
    Publish(publish_cmd::PublishArgs),
    /// Serve the OCI distribution API (a registry) from a data folder.
    Serve(serve_cmd::ServeArgs),
    /// Remove untagged manifests and unreferenced blobs from a data folder, beside a running
    /// server if need be.
    Gc(gc_cmd::GcArgs),
    /// Re-hash every blob of a data folder and check every manifest's references.
    Fsck(fsck_cmd::FsckArgs),
    /// Manage accounts, organisations, robots, tiers and visibility; read the audit log.
    Admin(admin_cmd::AdminArgs),
    /// Make signing keys.
    Key(key_cmd::KeyArgs),
    /// Sign an image (its index and every platform manifest) the way cosign does.
    Sign(sign_cmd::SignArgs),
    /// Attach a signed SLSA provenance, SPDX or CycloneDX attestation to an image.
    Attest(attest_cmd::AttestArgs),
    /// Verify an image's signatures, attestations and tier against keys and a trust policy.
    Verify(verify_cmd::VerifyArgs),
    /// Import advisory data, re-match every stored image against it and read the changes.
    Db(db_cmd::DbArgs),
    /// Scan an image for packages and known vulnerabilities (table, JSON, SARIF, SPDX,
    /// CycloneDX); `--severity` makes it a CI gate.
    Scan(scan_cmd::ScanArgs),
}

/// The command line with `--format` narrowed to text or JSON for the commands that print
/// only those; `hallmark scan` takes every format and gets the one asked for.
struct Narrowed {
    format: Format,
    requested: OutputFormat,
    command: Command,
}

impl Narrowed {
    fn of(cli: Cli) -> anyhow::Result<Narrowed> {
        let format = match (&cli.command, cli.format.plain()) {
            (Command::Scan(_), _) => Format::Text,
            (_, plain) => plain?,
        };
        Ok(Narrowed {
            format,
            requested: cli.format,
            command: cli.command,
        })
    }
}

fn main() -> ExitCode {
    let cli = match Narrowed::of(Cli::parse()) {
        Ok(cli) => cli,
        Err(err) => {
            eprintln!("hallmark: {err:#}");
            return ExitCode::from(2);
        }
    };
    let format = cli.format;
    let result = match cli.command {
        Command::Library(args) => library_cmd::run(args, format),
        Command::Build(args) => build_cmd::run(args, format),
        Command::Publish(args) => publish_cmd::run(args, format),
        Command::Serve(args) => serve_cmd::run(args),
        Command::Gc(args) => gc_cmd::run(args, format),
        Command::Fsck(args) => fsck_cmd::run(args, format),
        Command::Admin(args) => admin_cmd::run(args, format),
        Command::Key(args) => key_cmd::run(args, format),
        Command::Sign(args) => sign_cmd::run(args, format),
        Command::Attest(args) => attest_cmd::run(args, format),
        Command::Verify(args) => verify_cmd::run(args, format),
        Command::Db(args) => db_cmd::run(args, format),
        Command::Scan(args) => scan_cmd::run(args, cli.requested),
    };
    match result {
        Ok(code) => code,
        // A reader that stops early (`| head`) is not an error worth reporting.
        Err(err) if is_broken_pipe(&err) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hallmark: {err:#}");
            ExitCode::FAILURE
        }
    }
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            || cause
                .downcast_ref::<serde_json::Error>()
                .and_then(|json| json.io_error_kind())
                == Some(std::io::ErrorKind::BrokenPipe)
    })
}
