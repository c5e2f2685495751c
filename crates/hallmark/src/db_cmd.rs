//! `hallmark db`: the advisory data in a data folder. `import` stores a folder, zip or file of
//! advisories as one source, re-matches every stored image inventory against all stored data
//! and reports what changed per tag (appending it to the outbox); `status` lists the sources;
//! `events` reads the outbox from a cursor.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use attest::Timestamp;
use clap::{Args, Subcommand, ValueEnum};
use serde::Serialize;
use store::{ChangeEvent, MetaStore};

use crate::data_dir::{block_on, DataArgs};
use crate::output::{print_json, print_lines, Format};

/// Import advisory data and follow what it changes for stored images.
#[derive(Debug, Args)]
pub struct DbArgs {
    #[command(flatten)]
    data: DataArgs,
    #[command(subcommand)]
    command: DbCommand,
}

#[derive(Debug, Subcommand)]
enum DbCommand {
    /// Store advisories (OSV JSON/YAML, the Debian tracker's JSON, Alpine secdb; a folder, a
    /// zip or one file) and report the changes for every stored image.
    Import(ImportArgs),
    /// List the advisory sources with their record counts and import dates.
    Status,
    /// Print the change events recorded by imports, oldest first.
    Events(EventsArgs),
}

#[derive(Debug, Args)]
struct ImportArgs {
    /// The folder, zip or file to import.
    path: PathBuf,
    /// The name to store the records under; a later import of the same name replaces them.
    /// Defaults to the file or folder name.
    #[arg(long)]
    source: Option<String>,
    /// What the data is; told from the content when not given.
    #[arg(long, value_enum)]
    kind: Option<Kind>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum Kind {
    /// OSV records, JSON or YAML.
    Osv,
    /// The Debian security tracker's JSON export.
    DebianTracker,
    /// Alpine secdb files.
    AlpineSecdb,
}

#[derive(Debug, Args)]
struct EventsArgs {
    /// Only events after this id (the last one a reader handled).
    #[arg(long, default_value_t = 0)]
    since: i64,
    /// At most this many events.
    #[arg(long, default_value_t = 1000)]
    limit: u32,
}

pub fn run(args: DbArgs, format: Format) -> anyhow::Result<ExitCode> {
    block_on(async {
        let (_, meta) = args.data.open().await?;
        match args.command {
            DbCommand::Import(import) => run_import(&meta, import, format).await,
            DbCommand::Status => run_status(&meta, format).await,
            DbCommand::Events(events) => run_events(&meta, &events, format).await,
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

/// One change of one tag, as `db import` prints it.
#[derive(Debug, Serialize)]
struct ChangeRow {
    image: String,
    tag: Option<String>,
    #[serde(flatten)]
    change: scan::changes::Change,
}

#[derive(Debug, Serialize)]
struct ImportOutput {
    source: String,
    records: usize,
    files: usize,
    problems: Vec<String>,
    images: usize,
    changes: Vec<ChangeRow>,
    events: Vec<i64>,
}

async fn run_import(meta: &impl MetaStore, args: ImportArgs, format: Format) -> anyhow::Result<()> {
    let kind = match args.kind {
        Some(Kind::Osv) => scan::Format::Osv,
        Some(Kind::DebianTracker) => scan::Format::DebianTracker,
        Some(Kind::AlpineSecdb) => scan::Format::AlpineSecdb,
        None => monitor::detect_format(&args.path)?,
    };
    let source = match args.source {
        Some(name) => name,
        None => default_source(&args.path)?,
    };
    progress(&format!(
        "reading {:?} advisories from {}",
        kind,
        args.path.display()
    ));
    let now = Timestamp::now();
    let now_ms = now.unix_seconds() * 1000;
    let imported =
        monitor::import_advisories(meta, kind, &args.path, &source, now_ms, &now.to_string())
            .await?;
    let problems: Vec<String> = imported
        .report
        .problems
        .iter()
        .map(ToString::to_string)
        .collect();
    progress(&format!(
        "stored {} records from {} files as source {source:?} ({} skipped or partly read)",
        imported.records,
        imported.report.files,
        problems.len()
    ));
    for problem in problems.iter().take(5) {
        progress(&format!("  {problem}"));
    }
    let loaded = monitor::load_advisories(meta).await?;
    progress(&format!(
        "re-matching the stored images against {} advisories",
        loaded.db.advisories().len()
    ));
    let outcome = monitor::rematch(meta, &loaded.db, now_ms).await?;
    let output = ImportOutput {
        source,
        records: imported.records,
        files: imported.report.files,
        problems,
        images: outcome.images,
        changes: rows(&outcome.changed),
        events: outcome.events.iter().map(|e| e.id).collect(),
    };
    match format {
        Format::Json => print_json(&output),
        Format::Text => print_lines(import_text(&output)),
    }
}

/// The folder's or file's name, without a data extension: `npm`, `debian`.
fn default_source(path: &std::path::Path) -> anyhow::Result<String> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .filter(|s| !s.is_empty())
        .with_context(|| {
            format!(
                "cannot name a source after {}: pass --source NAME",
                path.display()
            )
        })?;
    Ok(name.to_owned())
}

/// Every change once per reference of its image (once, without a tag, for an image known by
/// digest only), as the outbox holds them.
fn rows(changed: &[monitor::ImageChanges]) -> Vec<ChangeRow> {
    let mut rows = Vec::new();
    for image in changed {
        let tags: Vec<Option<&String>> = if image.references.is_empty() {
            vec![None]
        } else {
            image.references.iter().map(Some).collect()
        };
        for tag in tags {
            rows.extend(image.changes.iter().map(|change| ChangeRow {
                image: image.digest.to_string(),
                tag: tag.cloned(),
                change: change.clone(),
            }));
        }
    }
    rows
}

fn import_text(output: &ImportOutput) -> Vec<String> {
    let count = |kind| {
        output
            .changes
            .iter()
            .filter(|r| r.change.kind == kind)
            .count()
    };
    let mut table =
        vec![["TAG", "CHANGE", "ADVISORY", "PACKAGE", "STATUS", "FIXED IN"].map(str::to_owned)];
    for row in &output.changes {
        let f = &row.change.finding;
        table.push([
            row.tag.clone().unwrap_or_else(|| row.image.clone()),
            kind_word(row.change.kind).to_owned(),
            f.advisory.clone(),
            format!("{}@{}", f.package, f.version),
            serde_json::to_value(f.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default(),
            f.fixed_in.join(", "),
        ]);
    }
    let mut lines = if output.changes.is_empty() {
        Vec::new()
    } else {
        aligned(&table)
    };
    lines.push(format!(
        "source {}: {} records stored; {} stored images re-matched: {} new, {} fixed, {} withdrawn",
        output.source,
        output.records,
        output.images,
        count(scan::changes::ChangeKind::New),
        count(scan::changes::ChangeKind::Fixed),
        count(scan::changes::ChangeKind::Withdrawn),
    ));
    lines
}

fn kind_word(kind: scan::changes::ChangeKind) -> &'static str {
    match kind {
        scan::changes::ChangeKind::New => "new",
        scan::changes::ChangeKind::Fixed => "fixed",
        scan::changes::ChangeKind::Withdrawn => "withdrawn",
    }
}

#[derive(Debug, Serialize)]
struct SourceRow {
    name: String,
    records: u64,
    imported: String,
}

#[derive(Debug, Serialize)]
struct StatusOutput {
    sources: Vec<SourceRow>,
    advisories_in_force: usize,
    withdrawn: usize,
    unreadable: usize,
    images: usize,
    last_event: i64,
}

async fn run_status(meta: &impl MetaStore, format: Format) -> anyhow::Result<()> {
    let sources = meta.advisory_sources().await?;
    let loaded = monitor::load_advisories(meta).await?;
    let images = meta.inventories().await?.len();
    let output = StatusOutput {
        sources: sources
            .into_iter()
            .map(|s| SourceRow {
                name: s.name,
                records: s.record_count,
                imported: time_text(s.imported_ms),
            })
            .collect(),
        advisories_in_force: loaded.db.advisories().len(),
        withdrawn: loaded.db.withdrawn(),
        unreadable: loaded.problems.len(),
        images,
        last_event: last_event_id(meta).await?,
    };
    match format {
        Format::Json => print_json(&output),
        Format::Text => {
            let mut table = vec![["SOURCE", "RECORDS", "IMPORTED"].map(str::to_owned)];
            for s in &output.sources {
                table.push([s.name.clone(), s.records.to_string(), s.imported.clone()]);
            }
            let mut lines = aligned(&table);
            lines.push(format!(
                "{} advisories in force, {} withdrawn, {} unreadable; {} images monitored; last event {}",
                output.advisories_in_force,
                output.withdrawn,
                output.unreadable,
                output.images,
                output.last_event
            ));
            print_lines(lines)
        }
    }
}

/// The outbox's last id, read page by page (the outbox has no count query of its own).
async fn last_event_id(meta: &impl MetaStore) -> anyhow::Result<i64> {
    let mut last = 0;
    loop {
        let page = meta.change_events(last, 10_000).await?;
        match page.last() {
            Some(event) => last = event.id,
            None => return Ok(last),
        }
    }
}

#[derive(Debug, Serialize)]
struct EventRow {
    id: i64,
    at: String,
    image: String,
    tag: Option<String>,
    kind: &'static str,
    advisory: String,
    package: String,
}

fn event_row(event: &ChangeEvent) -> EventRow {
    EventRow {
        id: event.id,
        at: time_text(event.at_ms),
        image: event.event.image.to_string(),
        tag: event.event.tag.clone(),
        kind: event.event.kind.as_str(),
        advisory: event.event.advisory.clone(),
        package: event.event.package.clone(),
    }
}

async fn run_events(
    meta: &impl MetaStore,
    args: &EventsArgs,
    format: Format,
) -> anyhow::Result<()> {
    let events: Vec<EventRow> = meta
        .change_events(args.since, args.limit)
        .await?
        .iter()
        .map(event_row)
        .collect();
    match format {
        Format::Json => print_json(&events),
        Format::Text => {
            let mut table =
                vec![["ID", "AT", "TAG", "KIND", "ADVISORY", "PACKAGE"].map(str::to_owned)];
            for e in &events {
                table.push([
                    e.id.to_string(),
                    e.at.clone(),
                    e.tag.clone().unwrap_or_else(|| e.image.clone()),
                    e.kind.to_owned(),
                    e.advisory.clone(),
                    e.package.clone(),
                ]);
            }
            print_lines(aligned(&table))
        }
    }
}

fn time_text(ms: i64) -> String {
    Timestamp::from_unix_seconds(ms.div_euclid(1000)).to_string()
}

/// Rows as columns padded to their widest cell.
fn aligned<const N: usize>(rows: &[[String; N]]) -> Vec<String> {
    let mut widths = [0; N];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:width$}"))
                .collect();
            cells.join("  ").trim_end().to_owned()
        })
        .collect()
}

/// A line about long work, on stderr.
fn progress(line: &str) {
    eprintln!("hallmark db: {line}");
}
