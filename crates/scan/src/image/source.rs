//! Where images come from, named the way skopeo names them: `oci:PATH[:TAG]` (an OCI image
//! layout), `docker-archive:PATH` (`docker save` output) and `dir:PATH` (a root filesystem,
//! scanned as one layer). Registry images are pulled by the caller into an OCI layout (as
//! `hallmark scan` does), since this crate does no network I/O.
//!
//! Every blob of an OCI layout is checked against its digest while it is read, and every
//! layer of a docker archive against its `diff_id`: a scan reports what the digest names or
//! fails. Layers are read in parallel, each at most once per [`LayerCache`].

use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use oci::manifest::ImageConfig;
use oci::{Digest, Hasher};

use super::layer::{analyze_layer, analyze_layer_checked};
use super::{LayerAnalysis, LayerError, Limits};
use crate::analyzer::ANALYZER_VERSION;
use crate::cache::LayerCache;
use crate::inventory::{Inventory, LayerRef};

mod docker_archive;
mod oci_layout;
mod rootfs;

/// An image to scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ImageSource {
    /// An OCI image layout folder, optionally one tag of it (`org.opencontainers.image.ref.name`).
    Oci {
        /// The layout folder.
        path: PathBuf,
        /// The tag; every image of the layout when absent.
        tag: Option<String>,
    },
    /// A `docker save` archive; every image in it.
    DockerArchive(PathBuf),
    /// A root filesystem folder.
    Dir(PathBuf),
}

/// Why an image could not be scanned.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// The name has no transport this scanner reads.
    #[error("{0:?} is not an image name this scanner reads; use oci:PATH[:TAG], docker-archive:PATH or dir:PATH")]
    UnknownTransport(String),
    /// Registry references are not read yet.
    #[error("{0:?} names a registry image, which this crate does not pull; scan it with hallmark scan, or save it with skopeo first (oci: or docker-archive:)")]
    Registry(String),
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },
    /// A JSON document is malformed.
    #[error("{what} is not valid: {message}")]
    Json {
        /// Which document.
        what: String,
        /// The parser's message.
        message: String,
    },
    /// A layer could not be read.
    #[error("layer {layer}: {source}")]
    Layer {
        /// The layer's digest or name.
        layer: String,
        /// Why.
        #[source]
        source: LayerError,
    },
    /// Nothing to scan matched the tag or platform.
    #[error("no image in {0} matches the tag and platform asked for")]
    NoImage(String),
}

impl ImageSource {
    /// Parses `oci:PATH[:TAG]`, `docker-archive:PATH` or `dir:PATH`.
    pub fn parse(name: &str) -> Result<ImageSource, SourceError> {
        let (transport, rest) = name.split_once(':').unwrap_or(("", name));
        match transport {
            "oci" => {
                // A TAG holds no '/', so the last ':' splits only when what follows is one.
                let (path, tag) = match rest.rsplit_once(':') {
                    Some((path, tag)) if !tag.contains('/') && !path.is_empty() => {
                        (path, Some(tag.to_owned()))
                    }
                    _ => (rest, None),
                };
                Ok(ImageSource::Oci {
                    path: path.into(),
                    tag,
                })
            }
            "docker-archive" => Ok(ImageSource::DockerArchive(rest.into())),
            "dir" => Ok(ImageSource::Dir(rest.into())),
            "docker" => Err(SourceError::Registry(name.to_owned())),
            _ if name.contains('/') || name.contains(':') => {
                Err(SourceError::UnknownTransport(name.to_owned()))
            }
            _ => Err(SourceError::Registry(name.to_owned())),
        }
    }
}

/// How to scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// The limits each layer is read under.
    pub limits: Limits,
    /// Only this platform of a multi-platform image (`linux/arm64`, `linux/arm/v7`).
    pub platform: Option<String>,
    /// Told about each layer as it is read, for a progress display.
    pub progress: Option<Arc<dyn Progress>>,
}

/// What a scan reports while it reads layers; calls come from several threads at once.
pub trait Progress: std::fmt::Debug + Send + Sync {
    /// A layer of `size` stored bytes (when known) starts to be read.
    fn layer_started(&self, layer: &str, size: Option<u64>);
    /// `bytes` more stored bytes of the layer were read.
    fn layer_read(&self, layer: &str, bytes: u64);
    /// The layer is done; `cached` when its analysis came from the cache unread.
    fn layer_finished(&self, layer: &str, cached: bool);
}

/// The inventory of one image (one platform of a multi-platform image).
#[derive(Debug, Clone)]
pub struct ImageInventory {
    /// `os/architecture[/variant]`, when the image says.
    pub platform: Option<String>,
    /// The manifest's digest (OCI layouts), or the config's (docker archives).
    pub image: Option<String>,
    /// The tags the source gives the image.
    pub tags: Vec<String>,
    /// What it holds.
    pub inventory: Inventory,
}

/// Scans every image of `source` that the options select.
pub fn scan(
    source: &ImageSource,
    options: &ScanOptions,
    cache: &dyn LayerCache,
) -> Result<Vec<ImageInventory>, SourceError> {
    match source {
        ImageSource::Oci { path, tag } => oci_layout::scan(path, tag.as_deref(), options, cache),
        ImageSource::DockerArchive(path) => docker_archive::scan(path, options, cache),
        ImageSource::Dir(path) => rootfs::scan(path, &options.limits),
    }
}

/// One layer to read: where it is, its name in the cache, and how to check it.
struct LayerJob {
    layer: LayerRef,
    open: Box<dyn Fn() -> io::Result<Box<dyn Read>> + Send + Sync>,
    /// The blob digest (checked on the bytes read), or the diff id (checked uncompressed).
    check: Check,
}

enum Check {
    Blob(Digest, u64),
    DiffId(Digest),
}

/// Reads the layers (in parallel, each through the cache) and merges them.
fn inventory_of(
    jobs: Vec<LayerJob>,
    options: &ScanOptions,
    cache: &dyn LayerCache,
) -> Result<Inventory, SourceError> {
    let (limits, progress) = (&options.limits, options.progress.as_deref());
    let results = parallel_map(&jobs, |job| read_layer(job, limits, cache, progress));
    let mut analyses = Vec::with_capacity(jobs.len());
    for (job, result) in jobs.iter().zip(results) {
        analyses.push((job.layer.clone(), result?));
    }
    let layers: Vec<(LayerRef, &LayerAnalysis)> = analyses
        .iter()
        .map(|(l, a)| (l.clone(), a.as_ref()))
        .collect();
    Ok(Inventory::from_layers(&layers))
}

fn read_layer(
    job: &LayerJob,
    limits: &Limits,
    cache: &dyn LayerCache,
    progress: Option<&dyn Progress>,
) -> Result<Arc<LayerAnalysis>, SourceError> {
    let (key, size) = match &job.check {
        Check::Blob(d, size) => (d.to_string(), Some(*size)),
        Check::DiffId(d) => (d.to_string(), None),
    };
    if let Some(p) = progress {
        p.layer_started(&key, size);
    }
    if let Some(hit) = cache.get(&key, ANALYZER_VERSION) {
        if let Some(p) = progress {
            p.layer_finished(&key, true);
        }
        return Ok(hit);
    }
    let fail = |source| SourceError::Layer {
        layer: key.clone(),
        source,
    };
    let reader = (job.open)().map_err(|e| fail(LayerError::Io(e)))?;
    let reader: Box<dyn Read + '_> = match progress {
        Some(progress) => Box::new(Counting {
            inner: reader,
            layer: &key,
            progress,
        }),
        None => reader,
    };
    let analysis = match &job.check {
        Check::Blob(digest, size) => {
            let mut verified = Verifying::new(reader, digest);
            let analysis = analyze_layer(&mut verified, limits).map_err(fail)?;
            verified.finish(*size).map_err(fail)?;
            analysis
        }
        Check::DiffId(diff_id) => {
            analyze_layer_checked(reader, limits, Some(diff_id)).map_err(fail)?
        }
    };
    let analysis = Arc::new(analysis);
    cache.put(&key, ANALYZER_VERSION, Arc::clone(&analysis));
    if let Some(p) = progress {
        p.layer_finished(&key, false);
    }
    Ok(analysis)
}

/// Tells the progress display how many stored bytes of a layer have been read.
struct Counting<'a> {
    inner: Box<dyn Read>,
    layer: &'a str,
    progress: &'a dyn Progress,
}

impl Read for Counting<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.progress.layer_read(self.layer, n as u64);
        Ok(n)
    }
}

/// Runs `f` over `items` on as many threads as there are cores, keeping the order.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    if threads <= 1 {
        return items.iter().map(f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut done = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break done };
                        done.push((i, f(item)));
                    }
                })
            })
            .collect();
        workers
            .into_iter()
            .flat_map(|w| {
                w.join()
                    .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
            })
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// Hashes what passes through, to check a blob once it has been read to its end.
struct Verifying<R> {
    inner: R,
    hasher: Hasher,
    expected: Digest,
}

impl<R: Read> Verifying<R> {
    fn new(inner: R, expected: &Digest) -> Verifying<R> {
        Verifying {
            inner,
            hasher: Hasher::new(expected.algorithm()),
            expected: expected.clone(),
        }
    }

    /// Drains the rest and compares digest and size.
    fn finish(mut self, size: u64) -> Result<(), LayerError> {
        io::copy(&mut self, &mut io::sink())?;
        let length = self.hasher.length();
        let actual = self.hasher.finish();
        if actual != self.expected || length != size {
            return Err(LayerError::Digest {
                expected: format!("{} ({size} bytes)", self.expected),
                actual: format!("{actual} ({length} bytes)"),
            });
        }
        Ok(())
    }
}

impl<R: Read> Read for Verifying<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// Reads a small JSON document (manifest, index, config), refusing one over 4 MiB: real ones
/// are a few KiB, and a hostile one must not exhaust memory.
fn read_small(reader: impl Read, what: &str) -> Result<Vec<u8>, SourceError> {
    const MAX_JSON: u64 = 4 << 20;
    let mut bytes = Vec::new();
    reader
        .take(MAX_JSON + 1)
        .read_to_end(&mut bytes)
        .map_err(|source| SourceError::Io {
            path: what.into(),
            source,
        })?;
    if bytes.len() as u64 > MAX_JSON {
        return Err(SourceError::Json {
            what: what.to_owned(),
            message: format!("larger than {MAX_JSON} bytes"),
        });
    }
    Ok(bytes)
}

/// Reads and parses a small JSON document.
fn read_json<T: serde::de::DeserializeOwned>(
    reader: impl Read,
    what: &str,
) -> Result<T, SourceError> {
    parse_json(&read_small(reader, what)?, what)
}

fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, SourceError> {
    serde_json::from_slice(bytes).map_err(|e| SourceError::Json {
        what: what.to_owned(),
        message: e.to_string(),
    })
}

fn open(path: &Path) -> Result<File, SourceError> {
    File::open(path).map_err(|source| SourceError::Io {
        path: path.to_owned(),
        source,
    })
}

/// The `created_by` of each non-empty layer, from an image config's history.
fn created_by(config: &ImageConfig) -> Vec<Option<String>> {
    config
        .layer_history()
        .map(|(_, step)| step.created_by.clone())
        .collect()
}

fn platform_of(platform: &oci::manifest::Platform) -> Option<String> {
    let (os, architecture) = (&platform.os, &platform.architecture);
    if os.is_empty() || architecture.is_empty() {
        return None;
    }
    Some(match platform.variant.as_deref() {
        Some(v) if !v.is_empty() => format!("{os}/{architecture}/{v}"),
        _ => format!("{os}/{architecture}"),
    })
}

fn platform_selected(options: &ScanOptions, platform: Option<&str>) -> bool {
    match (&options.platform, platform) {
        (None, _) => true,
        (Some(wanted), Some(p)) => {
            p == wanted
                || p.strip_prefix(wanted.as_str())
                    .is_some_and(|rest| rest.starts_with('/'))
        }
        (Some(_), None) => false,
    }
}

fn seek_to(path: &Path, offset: u64, size: u64) -> io::Result<Box<dyn Read>> {
    let mut file = File::open(path)?;
    file.seek(SeekFrom::Start(offset))?;
    Ok(Box::new(BufReader::with_capacity(1 << 16, file).take(size)))
}
