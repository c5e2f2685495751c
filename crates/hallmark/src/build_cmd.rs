//! `hallmark build`: plan which library entries need building for which architecture and
//! why (`--plan`), and build them into OCI image layouts with their records and logs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use build::clock::{unix_seconds, Clock, SystemClock};
use build::engine::{Engine, EngineKind};
use build::native::NativeEngine;
use build::parents::RegistryParents;
use build::plan::{plan, EngineChoice, Plan, PlanRequest, PlannedBuild, StaticParents};
use build::records::{BuildRecord, FileRecords};
use build::run::{run_build, RunPaths};
use build::source::GitCache;
use build::twice::{Reproduction, TwiceEngine};
use oci::{Architecture, Digest, ImageReference};
use serde::Serialize;

use crate::build_scan::BuildScans;
use crate::key_cmd::load_private_key;
use crate::library_cmd::{open_git_cache, LoadedLibrary};
use crate::output::{print_json, print_lines, Format};
use crate::provenance_attest::{sign_provenance, sign_sboms};

/// Arguments of `hallmark build`.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct BuildArgs {
    #[command(subcommand)]
    command: Option<crate::build_logs_cmd::BuildCommand>,
    /// REPO or REPO:TAG to build (default: the whole library).
    specs: Vec<String>,
    /// Print what would be built and why, and build nothing.
    #[arg(long)]
    plan: bool,
    /// Only this architecture: the one this machine's agent builds.
    #[arg(long)]
    arch: Option<Architecture>,
    /// Which engine builds: `native` for FROM scratch + ADD/COPY images, `docker` for the
    /// Docker Engine, `auto` for native wherever the Dockerfile allows it.
    #[arg(long, value_enum, default_value_t = EngineArg::Auto)]
    engine: EngineArg,
    /// The folder of library files.
    #[arg(long, env = "HALLMARK_LIBRARY", default_value = "library")]
    library: PathBuf,
    /// Hallmark's cache folder; git sources are kept in its `git` subfolder.
    #[arg(long, env = "HALLMARK_CACHE")]
    cache: Option<PathBuf>,
    /// The agent's data folder: build records under `builds/records`, logs under
    /// `build-logs` (give the server's data folder to have `hallmark serve` show them). When
    /// it is a registry's data folder (it holds the metadata store), each built image's
    /// inventory is recorded there too, so that `hallmark db import` re-matches it; an agent
    /// folder without a store records nothing (run `hallmark scan --data` where the image is
    /// served instead).
    #[arg(long, env = "HALLMARK_DATA", default_value = "hallmark-data")]
    data: PathBuf,
    /// Where built images go, one OCI layout folder per build identity
    /// (default: `<data>/builds/images`).
    #[arg(long)]
    output: Option<PathBuf>,
    /// Pins an image from outside the library to a digest: IMAGE=sha256:… (repeatable);
    /// other external parents are resolved by tag in their own registries.
    #[arg(long = "parent", value_name = "IMAGE=DIGEST")]
    parents: Vec<String>,
    #[command(flatten)]
    push: crate::build_push::PushArgs,
}

/// `--engine`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum EngineArg {
    Auto,
    Native,
    Docker,
}

impl EngineArg {
    fn choice(self) -> EngineChoice {
        match self {
            EngineArg::Auto => EngineChoice::Auto,
            EngineArg::Native => EngineChoice::Only(EngineKind::Native),
            EngineArg::Docker => EngineChoice::Only(EngineKind::Docker),
        }
    }
}

/// Runs `hallmark build`.
pub fn run(args: BuildArgs, format: Format) -> anyhow::Result<ExitCode> {
    if let Some(crate::build_logs_cmd::BuildCommand::Logs(logs)) = args.command {
        return crate::build_logs_cmd::run(logs, format);
    }
    let loaded = LoadedLibrary::open(&args.library)?;
    let broken = loaded.report_errors();
    for spec in &args.specs {
        loaded.resolve(spec)?;
    }
    let cache = open_git_cache(args.cache.clone())?;
    let records = FileRecords::in_data_dir(&args.data);
    // External parents: `--parent` pins first, else their tags resolved in their registries.
    let parents = RegistryParents::new(args.push.client()?, static_parents(&args.parents)?);
    let specs = (!args.specs.is_empty()).then_some(args.specs.as_slice());
    let request = PlanRequest {
        specs,
        arch: args.arch,
        engine: args.engine.choice(),
    };
    let plan = plan(&loaded.library, &cache, &parents, &records, request)?;
    if args.plan {
        print_plan(&plan, format)?;
    } else {
        build_all(&args, &loaded.library, &plan, &cache, &records, format)?;
    }
    Ok(match broken {
        true => ExitCode::FAILURE,
        false => ExitCode::SUCCESS,
    })
}

/// `--parent IMAGE=DIGEST` pins.
fn static_parents(pins: &[String]) -> anyhow::Result<StaticParents> {
    let mut parents = StaticParents::default();
    for pin in pins {
        let (image, digest) = pin
            .rsplit_once('=')
            .with_context(|| format!("--parent {pin}: write IMAGE=sha256:…"))?;
        let image = ImageReference::parse(image).with_context(|| format!("--parent {pin}"))?;
        let digest = Digest::parse(digest).with_context(|| format!("--parent {pin}"))?;
        parents.insert(&image, None, digest);
    }
    Ok(parents)
}

/// One plan row as printed.
fn plan_line(build: &PlannedBuild) -> String {
    let identity = &build.identity.0.hex()[..12];
    format!(
        "{:<10} {:<30} {:<7} {:<18} {identity}",
        build.agent, build.entry, build.engine, build.reason
    )
}

fn print_plan(plan: &Plan, format: Format) -> anyhow::Result<()> {
    match format {
        Format::Json => print_json(plan),
        Format::Text => {
            let header = format!(
                "{:<10} {:<30} {:<7} {:<18} IDENTITY",
                "AGENT", "ENTRY", "ENGINE", "REASON"
            );
            print_lines(std::iter::once(header).chain(plan.builds.iter().map(plan_line)))
        }
    }
}

/// What `hallmark build` reports for one build.
#[derive(Debug, Serialize)]
struct Built<'a> {
    record: &'a BuildRecord,
    layout: &'a Path,
}

/// Builds every row of the plan that needs it, in order, stopping at the first failure: the
/// children of a failed build could not be pinned to it anyway.
fn build_all(
    args: &BuildArgs,
    library: &library::Library,
    plan: &Plan,
    cache: &GitCache,
    records: &FileRecords,
    format: Format,
) -> anyhow::Result<()> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let key = args.push.key.as_deref().map(load_private_key).transpose()?;
    let scans = BuildScans::open(&args.data, key.is_some())?;
    let images = args
        .output
        .clone()
        .unwrap_or_else(|| args.data.join("builds").join("images"));
    let logs = build::logs::BuildLogs::new(&args.data);
    let pending: Vec<&PlannedBuild> = plan
        .builds
        .iter()
        .filter(|b| b.reason.needs_build())
        .collect();
    let mut done = Vec::new();
    let reproductions = Arc::new(Mutex::new(Vec::new()));
    for (index, build) in pending.iter().enumerate() {
        eprintln!(
            "hallmark: building {} for {} with {} ({}/{}, {})",
            build.entry,
            build.arch,
            build.engine,
            index + 1,
            pending.len(),
            build.reason
        );
        let mut engine = engine(build.engine, &clock, &args.push)?;
        if args.push.verify_reproducible {
            engine = Box::new(TwiceEngine::new(engine, Arc::clone(&reproductions)));
        }
        let hex = build.identity.0.hex();
        let paths = RunPaths {
            output: images.join(hex),
            // Named by every tag of the entry, where the registry serves it to whoever may pull.
            log: logs.for_build(build, unix_seconds(clock.now())),
        };
        anyhow::ensure!(
            !paths.output.exists(),
            "{} exists but no successful build of {} is recorded: remove it and build again",
            paths.output.display(),
            build.entry
        );
        let (record, image) = run_build(
            build,
            cache,
            engine.as_ref(),
            records,
            clock.as_ref(),
            &paths,
        )?;
        // Pushed before the next build, whose pinned parent it may be.
        args.push.push(library, build, &image)?;
        let scanned = scans.scan(build, &image)?;
        if let (Some(key), Some(scanned)) = (&key, scanned) {
            let entry = library_entry(library, build)?;
            let parents = build::plan::pin_parents(build, records)?;
            args.push.push_attestations(build, &image, |name, pushed| {
                let mut envelopes = vec![sign_provenance(
                    entry,
                    build,
                    &record,
                    &parents,
                    (name, pushed),
                    key,
                )];
                envelopes.extend(sign_sboms(scanned, (name, pushed), key)?);
                Ok(envelopes)
            })?;
        }
        done.push((record, paths.output));
    }
    report_reproductions(&reproductions);
    let built: Vec<Built<'_>> = done
        .iter()
        .map(|(record, layout)| Built { record, layout })
        .collect();
    match format {
        Format::Json => print_json(&built),
        Format::Text => print_lines(built.iter().map(|b| {
            let image = b.record.image().map_or("", Digest::as_str);
            format!(
                "built {} {} {image} {}",
                b.record.arch,
                b.record.entry(),
                b.layout.display()
            )
        })),
    }
}

/// The library entry `build` builds.
fn library_entry<'a>(
    library: &'a library::Library,
    build: &PlannedBuild,
) -> anyhow::Result<&'a library::Entry> {
    library
        .repo(&build.repo)
        .and_then(|file| {
            file.entries
                .iter()
                .find(|entry| entry.tags.first() == build.tags.first())
        })
        .with_context(|| format!("{} is not in the library any more", build.entry))
}

/// With `--verify-reproducible`, says which builds' two images came out identical.
fn report_reproductions(reproductions: &Mutex<Vec<Reproduction>>) {
    for check in reproductions.lock().expect("reproductions lock").iter() {
        let verdict = if check.identical() {
            "identical"
        } else {
            "different"
        };
        eprintln!(
            "hallmark: reproducible? {} {}:{} {verdict} ({} and {})",
            check.arch, check.repo, check.tag, check.first, check.second
        );
    }
}

/// The engine of one kind.
fn engine(
    kind: EngineKind,
    clock: &Arc<dyn Clock>,
    push: &crate::build_push::PushArgs,
) -> anyhow::Result<Box<dyn Engine>> {
    match kind {
        EngineKind::Native => Ok(Box::new(NativeEngine::new(Arc::clone(clock)))),
        EngineKind::Docker => Ok(Box::new(push.docker_engine()?)),
    }
}
