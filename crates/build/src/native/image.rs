//! [`NativeEngine`]: the instructions applied in order, one layer per ADD/COPY and one
//! history entry per instruction, into an OCI image whose every timestamp is
//! SOURCE_DATE_EPOCH.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Write;
use std::sync::Arc;

use oci::manifest::{Descriptor, History, ImageConfig, ImageManifest, MediaType};

use super::archive::{self, Extract};
use super::context::{add_path, find_sources, Ownership};
use super::dockerfile::{parse_dockerfile, CopySpec, Instruction, InstructionKind};
use super::layer::{Kind, Meta, Node, Tree};
use super::layout::Staging;
use super::NativeError;
use crate::clock::{unix_seconds, Clock, SystemClock};
use crate::engine::{log_line, BuildRequest, BuiltImage, Engine, EngineError, EngineKind};

/// What every history entry says made it.
const HISTORY_COMMENT: &str = "hallmark native builder";

/// The native builder as an [`Engine`].
#[derive(Debug, Clone)]
pub struct NativeEngine {
    clock: Arc<dyn Clock>,
}

impl Default for NativeEngine {
    fn default() -> Self {
        Self::new(Arc::new(SystemClock))
    }
}

impl NativeEngine {
    /// A native builder whose log reads the time from `clock` (the image never does).
    pub fn new(clock: Arc<dyn Clock>) -> Self {
        NativeEngine { clock }
    }
}

impl Engine for NativeEngine {
    fn kind(&self) -> EngineKind {
        EngineKind::Native
    }

    fn build(
        &self,
        request: &BuildRequest,
        log: &mut dyn Write,
    ) -> Result<BuiltImage, EngineError> {
        if request.output.exists() {
            return Err(NativeError::OutputExists(request.output.clone()).into());
        }
        let path = request.dockerfile_path();
        let text = fs::read_to_string(&path).map_err(NativeError::io(&path))?;
        let instructions = native_instructions(&text).map_err(|err| match err {
            NativeError::Dockerfile { source, .. } => NativeError::Dockerfile {
                path: path.clone(),
                source,
            },
            other => other,
        })?;
        let ignore = request.context.join(".dockerignore");
        if ignore.exists() {
            return Err(NativeError::DockerIgnore(ignore).into());
        }
        let started = unix_seconds(self.clock.now());
        log_line(
            log,
            format_args!(
                "native build of {}:{} for {} at unix time {started}, SOURCE_DATE_EPOCH {}",
                request.repo,
                request.tags.first().map_or("latest", String::as_str),
                request.arch,
                request.source_date_epoch
            ),
        )?;
        let staging = Staging::beside(&request.output)?;
        let mut builder = ImageBuilder::new(request, &staging)?;
        let total = instructions.len();
        for (step, instruction) in instructions.iter().enumerate() {
            log_line(
                log,
                format_args!("step {}/{total}: {}", step + 1, instruction.text),
            )?;
            builder.apply(instruction)?;
        }
        let (manifest, config) = builder.finish()?;
        let name = request.tags.first().map_or("latest", String::as_str);
        staging.finish(&manifest, name, &request.output)?;
        log_line(log, format_args!("built {}", manifest.digest))?;
        Ok(BuiltImage {
            layout: request.output.clone(),
            manifest_digest: manifest.digest,
            manifest_media_type: manifest.media_type,
            manifest_size: manifest.size,
            config_digest: config.digest,
            // FROM scratch: nothing to share.
            shared: None,
        })
    }
}

/// The instructions of `dockerfile` if the native builder can build it: one `FROM scratch`
/// and nothing that runs a container. This is how `--engine auto` decides.
pub fn native_instructions(dockerfile: &str) -> Result<Vec<Instruction>, NativeError> {
    let instructions = parse_dockerfile(dockerfile).map_err(|source| NativeError::Dockerfile {
        path: "Dockerfile".into(),
        source,
    })?;
    let mut froms = 0;
    for instruction in &instructions {
        let needs_engine = |what: String| NativeError::NeedsEngine {
            line: instruction.line,
            instruction: what,
        };
        match &instruction.kind {
            InstructionKind::From { image, .. } => {
                froms += 1;
                if froms > 1 {
                    return Err(needs_engine("a multi-stage build".into()));
                }
                if !image.eq_ignore_ascii_case("scratch") {
                    return Err(needs_engine(format!("FROM {image}")));
                }
            }
            InstructionKind::NeedsEngine { keyword } => return Err(needs_engine(keyword.clone())),
            InstructionKind::Copy(CopySpec {
                from: Some(from), ..
            }) => return Err(needs_engine(format!("COPY --from={from}"))),
            _ => {}
        }
    }
    Ok(instructions)
}

/// The image being built.
struct ImageBuilder<'a> {
    request: &'a BuildRequest,
    staging: &'a Staging,
    epoch: u64,
    config: ImageConfig,
    layers: Vec<Descriptor>,
    /// Every folder the layers so far hold, with its metadata, so a later layer creating a
    /// path through it repeats that metadata rather than inventing its own.
    folders: BTreeMap<ImagePath, Meta>,
    /// Every other path the layers so far hold: a later layer cannot make a folder of one.
    others: BTreeSet<ImagePath>,
}

impl<'a> ImageBuilder<'a> {
    fn new(request: &'a BuildRequest, staging: &'a Staging) -> Result<Self, NativeError> {
        let epoch = u64::try_from(request.source_date_epoch).unwrap_or(0);
        let created = attest::Timestamp::from_unix_seconds(request.source_date_epoch).to_string();
        let config = ImageConfig {
            platform: request.arch.platform().into(),
            created: Some(created),
            ..ImageConfig::default()
        };
        Ok(ImageBuilder {
            request,
            staging,
            epoch,
            config,
            layers: Vec::new(),
            folders: BTreeMap::new(),
            others: BTreeSet::new(),
        })
    }

    fn apply(&mut self, instruction: &Instruction) -> Result<(), NativeError> {
        let settings = &mut self.config.config;
        match &instruction.kind {
            InstructionKind::From { .. } | InstructionKind::Arg(_) => return Ok(()),
            InstructionKind::Copy(spec) => return self.copy(instruction, spec),
            InstructionKind::Env(pairs) => {
                for (name, value) in pairs {
                    let prefix = format!("{name}=");
                    settings.env.retain(|item| !item.starts_with(&prefix));
                    settings.env.push(format!("{name}={value}"));
                }
            }
            InstructionKind::Label(pairs) => settings.labels.extend(pairs.iter().cloned()),
            InstructionKind::Cmd(command) => settings.cmd = Some(command.clone()),
            InstructionKind::Entrypoint(command) => settings.entrypoint = Some(command.clone()),
            InstructionKind::User(user) => settings.user = Some(user.clone()),
            InstructionKind::Workdir(dir) => {
                let joined = join_path(settings.working_dir.as_deref().unwrap_or("/"), dir);
                settings.working_dir = Some(joined);
            }
            InstructionKind::Expose(ports) => {
                for port in ports {
                    for key in exposed_port_keys(port, instruction.line)? {
                        settings.exposed_ports.insert(key, serde_json::json!({}));
                    }
                }
            }
            InstructionKind::Volume(paths) => {
                for path in paths {
                    settings.volumes.insert(path.clone(), serde_json::json!({}));
                }
            }
            InstructionKind::StopSignal(signal) => settings.stop_signal = Some(signal.clone()),
            InstructionKind::Maintainer(name) => self.config.author = Some(name.clone()),
            InstructionKind::NeedsEngine { keyword } => {
                return Err(NativeError::NeedsEngine {
                    line: instruction.line,
                    instruction: keyword.clone(),
                })
            }
        }
        self.history(instruction, true);
        Ok(())
    }

    fn history(&mut self, instruction: &Instruction, empty_layer: bool) {
        self.config.history.push(History {
            created: self.config.created.clone(),
            created_by: Some(instruction.text.clone()),
            author: None,
            comment: Some(HISTORY_COMMENT.to_owned()),
            empty_layer,
        });
    }

    /// One ADD or COPY: a layer holding what it adds.
    fn copy(&mut self, instruction: &Instruction, spec: &CopySpec) -> Result<(), NativeError> {
        let line = instruction.line;
        let owner = self.ownership(spec, line)?;
        let workdir = self.config.config.working_dir.as_deref().unwrap_or("/");
        let dest_text = join_path(workdir, &spec.dest);
        let dest = components(&dest_text);
        let mut sources = Vec::new();
        for pattern in &spec.sources {
            if pattern.starts_with("http://") || pattern.starts_with("https://") {
                return Err(NativeError::NeedsEngine {
                    line,
                    instruction: format!("ADD of a URL ({pattern})"),
                });
            }
            sources.extend(find_sources(&self.request.context, pattern, line)?);
        }
        let into_folder = spec.dest.ends_with('/')
            || sources.len() > 1
            || self.folders.contains_key(&dest)
            || dest.is_empty();
        let folders = self.folders.clone();
        let epoch = self.epoch;
        let parent_meta = move |path: &[Vec<u8>]| {
            folders.get(path).copied().unwrap_or(Meta {
                mode: 0o755,
                uid: 0,
                gid: 0,
                mtime: epoch,
            })
        };
        let mut tree = Tree::default();
        let mut next_group = 0;
        let scratch = self.staging.scratch()?;
        for source in &sources {
            if spec.add && !source.is_dir {
                let spooled =
                    archive::spool_if_archive(&source.path, &scratch).map_err(|reason| {
                        NativeError::Archive {
                            line,
                            source_path: source.path.display().to_string(),
                            reason,
                        }
                    })?;
                if let Some(spool) = spooled {
                    let extract = Extract {
                        dest: &dest,
                        epoch,
                        parent_meta: &parent_meta,
                        next_group: &mut next_group,
                    };
                    archive::extract(spool, &mut tree, extract).map_err(|reason| {
                        NativeError::Archive {
                            line,
                            source_path: source.path.display().to_string(),
                            reason,
                        }
                    })?;
                    continue;
                }
            }
            let target = match (source.is_dir, into_folder) {
                (false, true) => [dest.clone(), vec![source.name.clone()]].concat(),
                _ => dest.clone(),
            };
            if source.is_dir && !dest.is_empty() {
                tree.insert(&dest, Node::dir(owner.dir_meta()), &parent_meta)
                    .map_err(|_| not_a_folder(line, &dest_text))?;
            }
            add_path(&mut tree, &source.path, &target, owner, &parent_meta)?;
        }
        let (folders, others) = paths_of(&tree);
        if folders.keys().any(|folder| self.others.contains(folder)) {
            return Err(not_a_folder(line, &dest_text));
        }
        let written = self.staging.layer(&tree)?;
        self.folders.extend(folders);
        self.others.extend(others);
        self.config.rootfs.diff_ids.push(written.diff_id);
        self.layers.push(written.descriptor);
        self.history(instruction, false);
        Ok(())
    }

    fn ownership(&self, spec: &CopySpec, line: usize) -> Result<Ownership, NativeError> {
        let (uid, gid) = match &spec.chown {
            None => (0, 0),
            Some(chown) => parse_chown(chown).ok_or_else(|| NativeError::NeedsEngine {
                line,
                instruction: format!("--chown={chown} (user and group names need the image's /etc/passwd; give numeric ids)"),
            })?,
        };
        let chmod = match &spec.chmod {
            None => None,
            Some(text) => Some(
                u32::from_str_radix(text, 8)
                    .ok()
                    .filter(|m| *m <= 0o7777)
                    .ok_or(NativeError::BadChmod {
                        line,
                        value: text.clone(),
                    })?,
            ),
        };
        Ok(Ownership {
            uid,
            gid,
            chmod,
            epoch: self.epoch,
        })
    }

    /// Writes the config and the manifest; returns their descriptors (manifest first).
    fn finish(self) -> Result<(Descriptor, Descriptor), NativeError> {
        let config = serde_json::to_vec(&self.config).expect("a config serialises");
        let config = self.staging.blob(MediaType::OCI_CONFIG, &config)?;
        let manifest = ImageManifest {
            schema_version: 2,
            media_type: Some(MediaType::OCI_MANIFEST.to_owned()),
            artifact_type: None,
            config: config.clone(),
            layers: self.layers,
            subject: None,
            annotations: BTreeMap::new(),
            extra: BTreeMap::new(),
        };
        let manifest = serde_json::to_vec(&manifest).expect("a manifest serialises");
        let manifest = self.staging.blob(MediaType::OCI_MANIFEST, &manifest)?;
        Ok((manifest, config))
    }
}

/// A path in the image, as its components.
type ImagePath = Vec<Vec<u8>>;

/// The folders of a layer with their metadata, and its other paths.
fn paths_of(tree: &Tree) -> (BTreeMap<ImagePath, Meta>, BTreeSet<ImagePath>) {
    fn walk(
        prefix: &mut ImagePath,
        entries: &BTreeMap<Vec<u8>, Node>,
        folders: &mut BTreeMap<ImagePath, Meta>,
        others: &mut BTreeSet<ImagePath>,
    ) {
        for (name, node) in entries {
            prefix.push(name.clone());
            match &node.kind {
                Kind::Dir(children) => {
                    folders.insert(prefix.clone(), node.meta);
                    walk(prefix, children, folders, others);
                }
                _ => {
                    others.insert(prefix.clone());
                }
            }
            prefix.pop();
        }
    }
    let (mut folders, mut others) = (BTreeMap::new(), BTreeSet::new());
    walk(&mut Vec::new(), &tree.root, &mut folders, &mut others);
    (folders, others)
}

fn not_a_folder(line: usize, dest: &str) -> NativeError {
    NativeError::NotAFolder {
        line,
        path: dest.to_owned(),
    }
}

/// `uid[:gid]` in numbers; a missing group is the user id, as Docker does.
fn parse_chown(text: &str) -> Option<(u64, u64)> {
    let (user, group) = text.split_once(':').unwrap_or((text, text));
    Some((user.parse().ok()?, group.parse().ok()?))
}

/// `path` resolved against `base` (absolute paths stand alone), `..` clamped at the root.
fn join_path(base: &str, path: &str) -> String {
    let joined = match path.starts_with('/') {
        true => path.to_owned(),
        false => format!("{base}/{path}"),
    };
    let mut parts: Vec<&str> = Vec::new();
    for part in joined.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            name => parts.push(name),
        }
    }
    format!("/{}", parts.join("/"))
}

fn components(path: &str) -> Vec<Vec<u8>> {
    path.split('/')
        .filter(|c| !c.is_empty())
        .map(|c| c.as_bytes().to_vec())
        .collect()
}

/// `80`, `80/udp`, `8000-8002/tcp` as config keys (`80/tcp`), one per port.
fn exposed_port_keys(text: &str, line: usize) -> Result<Vec<String>, NativeError> {
    let bad = || NativeError::BadPort {
        line,
        value: text.to_owned(),
    };
    let (ports, protocol) = text.split_once('/').unwrap_or((text, "tcp"));
    let protocol = protocol.to_ascii_lowercase();
    if !matches!(protocol.as_str(), "tcp" | "udp" | "sctp") {
        return Err(bad());
    }
    let (first, last) = ports.split_once('-').unwrap_or((ports, ports));
    let first: u16 = first.parse().map_err(|_| bad())?;
    let last: u16 = last.parse().map_err(|_| bad())?;
    if first > last {
        return Err(bad());
    }
    Ok((first..=last)
        .map(|port| format!("{port}/{protocol}"))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_like_workdir() {
        let cases = [
            ("/", "app", "/app"),
            ("/app", "sub/", "/app/sub"),
            ("/app", "/etc", "/etc"),
            ("/app", "../../x", "/x"),
            ("/", ".", "/"),
        ];
        for (base, path, expected) in cases {
            assert_eq!(join_path(base, path), expected, "{base} {path}");
        }
    }

    #[test]
    fn exposed_ports_become_keys() {
        assert_eq!(exposed_port_keys("80", 1).unwrap(), ["80/tcp"]);
        assert_eq!(exposed_port_keys("53/UDP", 1).unwrap(), ["53/udp"]);
        assert_eq!(
            exposed_port_keys("8000-8002", 1).unwrap(),
            ["8000/tcp", "8001/tcp", "8002/tcp"]
        );
        for bad in ["http", "80/icmp", "9-1", "70000"] {
            assert!(exposed_port_keys(bad, 3).is_err(), "{bad}");
        }
        assert_eq!(parse_chown("1000"), Some((1000, 1000)));
        assert_eq!(parse_chown("1:2"), Some((1, 2)));
        assert_eq!(parse_chown("app"), None);
    }
}
