//! `hallmark build logs [ARCH/]REPO[:TAG]`: the newest build log of any Tag or SharedTag of an
//! entry for one architecture, from the data folder the builds wrote to (the registry serves
//! the same files over HTTP at `/v2/<arch>/<repo>/builds/<tag>/log`).

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use build::logs::BuildLogs;
use oci::Architecture;
use serde::Serialize;

use crate::output::{print_json, Format};

/// `hallmark build`'s subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum BuildCommand {
    /// Print the newest build log of [ARCH/]REPO[:TAG].
    Logs(LogsArgs),
}

/// Arguments of `hallmark build logs`.
#[derive(Debug, clap::Args)]
pub struct LogsArgs {
    /// The tag whose build to show: REPO:TAG, or ARCH/REPO:TAG as the registry names it
    /// (TAG defaults to latest).
    image: String,
    /// The architecture whose build to show (default: the one the image names, else amd64).
    #[arg(long)]
    arch: Option<Architecture>,
    /// The data folder the builds wrote to.
    #[arg(long, env = "HALLMARK_DATA", default_value = "hallmark-data")]
    data: PathBuf,
}

#[derive(Debug, Serialize)]
struct Log {
    arch: Architecture,
    repository: String,
    tag: String,
    path: PathBuf,
    log: String,
}

/// Runs `hallmark build logs`.
pub fn run(args: LogsArgs, format: Format) -> anyhow::Result<ExitCode> {
    let (arch, repo, tag) = parse_image(&args.image, args.arch)?;
    let path = BuildLogs::new(&args.data)
        .latest(arch, repo, tag)
        .with_context(|| format!("reading the build logs in {}", args.data.display()))?
        .with_context(|| {
            format!(
                "no build log of {arch}/{repo}:{tag} in {}: build it with --data {0}, or name another tag or --arch",
                args.data.display()
            )
        })?;
    let log =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    match format {
        Format::Json => print_json(&Log {
            arch,
            repository: repo.to_owned(),
            tag: tag.to_owned(),
            path,
            log,
        })?,
        Format::Text => print!("{log}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// The architecture, repository and tag of a build.
type BuildTag<'a> = (Architecture, &'a str, &'a str);

/// `[ARCH/]REPO[:TAG]` with `--arch`.
fn parse_image(image: &str, flag: Option<Architecture>) -> anyhow::Result<BuildTag<'_>> {
    // A tag holds neither `:` nor `/`, so the first `:` ends the name.
    let (name, tag) = image.split_once(':').unwrap_or((image, "latest"));
    let (named, repo) = match name.split_once('/') {
        Some((arch, repo)) => {
            let arch = arch.parse::<Architecture>().with_context(|| {
                format!("{image}: name REPO:TAG, or ARCH/REPO:TAG with an architecture")
            })?;
            (Some(arch), repo)
        }
        None => (None, name),
    };
    let arch = match (named, flag) {
        (Some(named), Some(flag)) if named != flag => {
            anyhow::bail!("{image} names {named} but --arch says {flag}: give one of them")
        }
        (named, flag) => named.or(flag).unwrap_or(Architecture::Amd64),
    };
    anyhow::ensure!(
        oci::is_valid_path_component(repo) && oci::is_valid_tag(tag),
        "{image} is not REPO:TAG: a library repository name and a tag"
    );
    Ok((arch, repo, tag))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn images_name_an_architecture_a_repository_and_a_tag() {
        use Architecture::{Amd64, Arm64v8, WindowsAmd64};
        // (image, --arch, the answer or the start of the error)
        let cases: [(&str, Option<Architecture>, Result<BuildTag, &str>); 8] = [
            ("hello:1.0", None, Ok((Amd64, "hello", "1.0"))),
            ("hello", Some(Arm64v8), Ok((Arm64v8, "hello", "latest"))),
            ("arm64v8/hello:1", None, Ok((Arm64v8, "hello", "1"))),
            (
                "windows-amd64/python:latest",
                Some(WindowsAmd64),
                Ok((WindowsAmd64, "python", "latest")),
            ),
            (
                "arm64v8/hello:1",
                Some(Amd64),
                Err("arm64v8/hello:1 names arm64v8 but --arch"),
            ),
            (
                "library/hello:1",
                None,
                Err("library/hello:1: name REPO:TAG"),
            ),
            ("hello:../../x", None, Err("hello:../../x is not REPO:TAG")),
            ("amd64/a/b:1", None, Err("amd64/a/b:1 is not REPO:TAG")),
        ];
        for (image, flag, expected) in cases {
            match (parse_image(image, flag), expected) {
                (Ok(found), Ok(expected)) => assert_eq!(found, expected, "{image}"),
                (Err(err), Err(start)) => {
                    assert!(err.to_string().starts_with(start), "{image}: {err}")
                }
                (found, expected) => panic!(
                    "{image}: {:?} is not {expected:?}",
                    found.map_err(|e| e.to_string())
                ),
            }
        }
    }
}
