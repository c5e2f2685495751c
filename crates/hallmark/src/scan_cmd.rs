//! `hallmark scan IMAGE`: reads an image's layers, lists its packages and matches them against
//! advisory data, printing a table, JSON, SARIF, SPDX or CycloneDX, and failing a CI gate
//! with `--severity`.

mod advisories;
mod progress;
mod pull;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::Args;
use scan::image::source::{self, ImageInventory, ImageSource, ScanOptions};
use scan::report::{cyclonedx, json, sarif, spdx, table};
use scan::{AdvisoryDb, DiskCache, LayerCache, MemoryCache, Report, ReportOptions, Severity};

use crate::data_dir::{self, DataArgs};
use crate::output::{print_json, OutputFormat};
use crate::stored_scans as stored;

/// Scan an image for packages and known vulnerabilities.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// The image: a registry reference (`[docker://]HOST/NAME[:TAG|@DIGEST]`, pulled into a
    /// temporary folder), `oci:PATH[:TAG]` (an OCI layout), `docker-archive:PATH` (`docker
    /// save` output) or `dir:PATH` (a root filesystem).
    image: String,
    /// Scan only this platform of a multi-platform image (`os/arch[/variant]`, e.g.
    /// `linux/arm64` or `linux/arm/v7`); every platform is scanned by default.
    #[arg(long, value_name = "OS/ARCH[/VARIANT]")]
    platform: Option<String>,
    /// Exit with status 1 when any finding is at LEVEL or worse, as `trivy --exit-code 1
    /// --severity LEVEL,<every worse level>` does; unlike Trivy's --severity, findings below
    /// LEVEL are still printed, and unrated (UNKNOWN) findings never fail the gate.
    #[arg(long, value_enum, value_name = "LEVEL")]
    severity: Option<Threshold>,
    /// Advisory data to match against, as `[FORMAT=]PATH`: FORMAT is `osv` (default; a folder
    /// or zip of OSV records), `debian-tracker` (the tracker's JSON export) or `alpine-secdb`.
    /// Repeat to combine sources.
    #[arg(long = "advisories", value_name = "[FORMAT=]PATH")]
    advisories: Vec<advisories::AdvisoryInput>,
    /// Credentials for a registry image, as `USER:PASSWORD`; by default the docker config
    /// file's entry for the registry, if any.
    #[arg(
        long,
        env = "HALLMARK_CREDS",
        value_name = "USER:PASSWORD",
        hide_env_values = true
    )]
    creds: Option<String>,
    /// Speak plain HTTP to the registry (loopback registries get plain HTTP unless they have a
    /// certificate folder).
    #[arg(long)]
    insecure: bool,
    #[command(flatten)]
    tls: crate::remote::TlsArgs,
    /// A registry data folder: its advisories (`hallmark db import`) are matched too, and
    /// the scanned inventories are recorded there, so later imports re-match them.
    #[arg(long, env = "HALLMARK_DATA", value_name = "DIR")]
    data: Option<PathBuf>,
    /// Keep layer analyses in this folder, so a layer shared by many images is read once.
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
}

/// The transports that name local images; anything else is a registry reference.
const LOCAL_TRANSPORTS: [&str; 3] = ["oci:", "docker-archive:", "dir:"];

/// The severity threshold of `--severity`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Threshold {
    Low,
    Medium,
    High,
    Critical,
}

impl Threshold {
    fn severity(self) -> Severity {
        match self {
            Threshold::Low => Severity::Low,
            Threshold::Medium => Severity::Medium,
            Threshold::High => Severity::High,
            Threshold::Critical => Severity::Critical,
        }
    }
}

/// Runs the command: with `--data`, over the data folder's stored advisories, recording the
/// scanned inventories there for re-matching; otherwise over `--advisories` alone.
pub fn run(args: ScanArgs, format: OutputFormat) -> anyhow::Result<ExitCode> {
    let Some(data) = args.data.clone() else {
        let mut db = AdvisoryDb::new();
        advisories::load(&args.advisories, &mut db)?;
        let images = scan_images(&args, &db)?;
        return finish(&args, images, &db, format);
    };
    data_dir::block_on(async move {
        let (_, meta) = DataArgs { data }.open().await?;
        let mut db = stored::advisories(&meta).await?;
        advisories::load(&args.advisories, &mut db)?;
        let images = scan_images(&args, &db)?;
        stored::record(&meta, &args.image, &images, &db).await?;
        finish(&args, images, &db, format)
    })
}

/// Pulls the image if it is a registry reference, and reads its layers.
fn scan_images(args: &ScanArgs, db: &AdvisoryDb) -> anyhow::Result<Vec<ImageInventory>> {
    // A pulled image lives in a temporary layout for as long as the scan needs it.
    let (source, _pulled) = if LOCAL_TRANSPORTS.iter().any(|t| args.image.starts_with(t)) {
        (ImageSource::parse(&args.image)?, None)
    } else {
        let options = args.tls.options(client::ClientOptions {
            creds: args
                .creds
                .as_deref()
                .map(client::Credentials::parse)
                .transpose()?,
            insecure: args.insecure,
            ..client::ClientOptions::default()
        })?;
        let layout = pull::pull(&args.image, args.platform.as_deref(), options)
            .with_context(|| format!("pulling {}", args.image))?;
        let source = ImageSource::Oci {
            path: layout.path().to_owned(),
            tag: Some(pull::TAG.to_owned()),
        };
        (source, Some(layout))
    };
    if db.advisories().is_empty() {
        eprintln!(
            "hallmark: no advisory data, so only the inventory is reported; pass --advisories PATH or --data with imported data"
        );
    }
    let progress = Arc::new(progress::LayerProgress::new());
    let options = ScanOptions {
        platform: args.platform.clone(),
        progress: Some(progress.clone()),
        ..ScanOptions::default()
    };
    let cache: Box<dyn LayerCache> = match &args.cache {
        Some(dir) => Box::new(DiskCache::new(dir)),
        None => Box::new(MemoryCache::new()),
    };
    let images = source::scan(&source, &options, cache.as_ref())
        .with_context(|| format!("scanning {}", args.image))?;
    progress.finish();
    Ok(images)
}

/// Prints the report and decides the exit code.
fn finish(
    args: &ScanArgs,
    images: Vec<ImageInventory>,
    db: &AdvisoryDb,
    format: OutputFormat,
) -> anyhow::Result<ExitCode> {
    let report = Report::new(
        args.image.clone(),
        images,
        db,
        ReportOptions {
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            created: crate::document_time::created()?,
        },
    );
    print(&report, format)?;
    let Some(threshold) = args.severity else {
        return Ok(ExitCode::SUCCESS);
    };
    let failing = report.count_at_or_above(threshold.severity());
    if failing == 0 {
        return Ok(ExitCode::SUCCESS);
    }
    eprintln!(
        "hallmark: {failing} findings at {} or worse",
        threshold.severity()
    );
    Ok(ExitCode::from(1))
}

fn print(report: &Report<'_>, format: OutputFormat) -> anyhow::Result<()> {
    match format {
        OutputFormat::Text => {
            use std::io::Write as _;
            std::io::stdout()
                .lock()
                .write_all(table::write(report).as_bytes())?;
            Ok(())
        }
        OutputFormat::Json => print_json(&json::write(report)),
        OutputFormat::Sarif => print_json(&sarif::write(report)),
        OutputFormat::SpdxJson => print_json(&spdx::write(report)),
        OutputFormat::CyclonedxJson => print_json(&cyclonedx::write(report)),
    }
}
