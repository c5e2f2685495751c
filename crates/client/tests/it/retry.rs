//! Retries against a registry that really misbehaves: a small HTTP proxy on a loopback socket
//! in front of Hallmark's registry answers chosen requests with `503`, `429`, `502`, a
//! dropped connection or an answer cut short a number of times, and passes everything else
//! through.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use client::{ClientError, Repository};

use crate::push_image;
use crate::server::{client, Quirk, TestRegistry};

/// How a matched request is failed.
#[derive(Debug, Clone)]
enum Failure {
    /// This status, with this `Retry-After` if any.
    Status(u16, Option<String>),
    /// The connection closes without an answer.
    Drop,
    /// The registry's answer is passed on with its head and this many bytes of its body,
    /// then the connection closes.
    Cut(usize),
    /// The request goes upstream without its `Range` header, as to a registry that ignores
    /// ranges and always sends the whole blob.
    WithoutRange,
}

/// Fail `times` requests whose method is `method` and whose path contains `path`.
#[derive(Debug, Clone)]
struct Rule {
    method: &'static str,
    path: &'static str,
    times: usize,
    failure: Failure,
}

/// A proxy that breaks the requests its rules match; it stops when dropped.
struct FlakyProxy {
    address: SocketAddr,
    /// Every request seen, as `METHOD path` with ` -> failed` when it was broken.
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl FlakyProxy {
    fn start(upstream: SocketAddr, rules: Vec<Rule>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let address = listener.local_addr().unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let rules = Arc::new(Mutex::new(rules));
        let (log, stopped) = (seen.clone(), stop.clone());
        std::thread::spawn(move || {
            for connection in listener.incoming() {
                if stopped.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(connection) = connection else { continue };
                let (rules, log) = (rules.clone(), log.clone());
                std::thread::spawn(move || serve(connection, upstream, &rules, &log));
            }
        });
        Self {
            address,
            seen,
            stop,
        }
    }

    fn repo(&self, name: &str) -> Repository {
        Repository::parse(&format!("{}/{name}", self.address)).unwrap()
    }

    fn seen(&self) -> Vec<String> {
        self.seen.lock().unwrap().clone()
    }

    /// How many requests `METHOD path-part` were seen, and how many of them were broken.
    fn count(&self, method: &str, path: &str) -> (usize, usize) {
        let matching: Vec<String> = self
            .seen()
            .into_iter()
            .filter(|line| line.starts_with(&format!("{method} ")) && line.contains(path))
            .collect();
        let failed = matching.iter().filter(|l| l.ends_with("-> failed")).count();
        (matching.len(), failed)
    }
}

impl Drop for FlakyProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accepting thread so that it sees the flag and ends.
        let _ = TcpStream::connect(self.address);
    }
}

/// Serves one client connection: each request is broken (keeping the connection for the
/// next, unless dropped) or passed upstream on a connection of its own, after which both
/// connections close.
fn serve(
    connection: TcpStream,
    upstream: SocketAddr,
    rules: &Mutex<Vec<Rule>>,
    log: &Mutex<Vec<String>>,
) {
    let mut reader = BufReader::new(connection.try_clone().unwrap());
    let mut client = connection;
    loop {
        let Some((head, body)) = read_request(&mut reader) else {
            return;
        };
        let request_line = head.lines().next().unwrap_or_default().to_owned();
        let mut words = request_line.split(' ');
        let (method, path) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
        let failure = {
            let mut rules = rules.lock().unwrap();
            rules
                .iter_mut()
                .find(|r| r.times > 0 && r.method == method && path.contains(r.path))
                .map(|rule| {
                    rule.times -= 1;
                    rule.failure.clone()
                })
        };
        let outcome = if failure.is_some() { " -> failed" } else { "" };
        let range = header_value(&head, "range")
            .map(|value| format!(" range={value}"))
            .unwrap_or_default();
        log.lock()
            .unwrap()
            .push(format!("{method} {path}{range}{outcome}"));
        match failure {
            Some(Failure::Drop) => {
                let _ = client.shutdown(Shutdown::Both);
                return;
            }
            Some(Failure::Status(status, retry_after)) => {
                let retry_after = retry_after
                    .map(|value| format!("Retry-After: {value}\r\n"))
                    .unwrap_or_default();
                let answer = format!(
                    "HTTP/1.1 {status} Flaky\r\n{retry_after}Content-Type: application/json\r\n\
                     Content-Length: 2\r\n\r\n{{}}"
                );
                client.write_all(answer.as_bytes()).unwrap();
            }
            Some(Failure::Cut(limit)) => {
                pass_upstream(&mut client, upstream, &head, &body, limit);
                return;
            }
            Some(Failure::WithoutRange) => {
                let head: Vec<&str> = head
                    .lines()
                    .filter(|line| !line.to_ascii_lowercase().starts_with("range:"))
                    .collect();
                let head = format!("{}\r\n", head.join("\r\n"));
                pass_upstream(&mut client, upstream, &head, &body, usize::MAX);
                return;
            }
            None => {
                pass_upstream(&mut client, upstream, &head, &body, usize::MAX);
                return;
            }
        }
    }
}

/// One request's head (up to its blank line) and its `Content-Length` body; `None` at the
/// end of the connection.
fn read_request(reader: &mut BufReader<TcpStream>) -> Option<(String, Vec<u8>)> {
    let mut head = String::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        head.push_str(&line);
        if line == "\r\n" {
            break;
        }
    }
    let length = header_value(&head, "content-length").map_or(0, |value| value.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some((head, body))
}

/// The value of a request head's header `name` (lowercase), trimmed.
fn header_value<'h>(head: &'h str, name: &str) -> Option<&'h str> {
    head.lines()
        .filter_map(|line| line.split_once(':'))
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value.trim())
}

/// Sends the request upstream asking it to close after answering, and copies the answer back:
/// its head and up to `limit` bytes of its body.
fn pass_upstream(
    client: &mut TcpStream,
    upstream: SocketAddr,
    head: &str,
    body: &[u8],
    limit: usize,
) {
    let mut server = TcpStream::connect(upstream).unwrap();
    let kept: Vec<&str> = head
        .trim_end()
        .lines()
        .filter(|line| !line.to_ascii_lowercase().starts_with("connection:"))
        .collect();
    let head = format!("{}\r\nConnection: close\r\n\r\n", kept.join("\r\n"));
    server.write_all(head.as_bytes()).unwrap();
    server.write_all(body).unwrap();
    let mut answer = Vec::new();
    server.read_to_end(&mut answer).unwrap();
    let head_end = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(answer.len(), |at| at + 4);
    let _ = client.write_all(&answer[..answer.len().min(head_end.saturating_add(limit))]);
    let _ = client.shutdown(Shutdown::Both);
}

fn rule(method: &'static str, path: &'static str, times: usize, failure: Failure) -> Rule {
    Rule {
        method,
        path,
        times,
        failure,
    }
}

fn unavailable(retry_after: Option<&str>) -> Failure {
    Failure::Status(503, retry_after.map(str::to_owned))
}

#[test]
fn reads_are_retried_until_the_registry_answers() {
    let registry = TestRegistry::open(Quirk::None);
    let image = push_image(&client(None), &registry.repo("library/flaky"), "1", "flaky");
    let in_two_seconds = httpdate::fmt_http_date(SystemTime::now() + Duration::from_secs(2));
    // (rules, the least time the read must take, the manifest GETs the proxy sees)
    // The date is whole seconds: it lies between one and two seconds ahead, for the first case.
    let cases = [
        (
            vec![rule(
                "GET",
                "/manifests/",
                1,
                unavailable(Some(&in_two_seconds)),
            )],
            900,
            2,
        ),
        (vec![rule("GET", "/manifests/", 3, unavailable(None))], 0, 4),
        (
            vec![rule("GET", "/manifests/", 1, unavailable(Some("1")))],
            1000,
            2,
        ),
        (
            vec![
                rule("GET", "/manifests/", 1, Failure::Status(429, None)),
                rule("GET", "/manifests/", 1, Failure::Status(502, None)),
                rule("GET", "/manifests/", 1, Failure::Drop),
            ],
            0,
            4,
        ),
    ];
    for (rules, least_ms, gets) in cases {
        let label = format!("{rules:?}");
        let proxy = FlakyProxy::start(registry.address, rules);
        let started = Instant::now();
        let fetched = client(None)
            .manifest(&proxy.repo("library/flaky"), "1")
            .unwrap_or_else(|err| panic!("{label}: {err}"));
        assert_eq!(fetched.digest, image.digest, "{label}");
        assert!(
            started.elapsed() >= Duration::from_millis(least_ms),
            "{label}: Retry-After was not honoured ({:?})",
            started.elapsed()
        );
        assert_eq!(proxy.count("GET", "/manifests/").0, gets, "{label}");
    }
}

#[test]
fn the_final_error_counts_the_attempts_and_other_refusals_are_not_retried() {
    let registry = TestRegistry::open(Quirk::None);
    push_image(&client(None), &registry.repo("library/down"), "1", "down");

    let proxy = FlakyProxy::start(
        registry.address,
        vec![rule("GET", "/manifests/", 9, unavailable(None))],
    );
    let err = client(None)
        .manifest(&proxy.repo("library/down"), "1")
        .unwrap_err();
    assert!(
        matches!(
            &err,
            ClientError::GaveUp {
                attempts: 4,
                asked_wait: None,
                ..
            }
        ),
        "{err:?}"
    );
    let text = err.to_string();
    assert!(
        text.contains(&format!(
            "{} answered 503: service unavailable",
            proxy.address
        )) && text.ends_with("(gave up after 4 attempts)"),
        "{err}"
    );
    assert_eq!(proxy.count("GET", "/manifests/"), (4, 4));

    // A registry that asks for more patience than the policy has is not asked again.
    let proxy = FlakyProxy::start(
        registry.address,
        vec![rule(
            "GET",
            "/manifests/",
            9,
            Failure::Status(429, Some("3600".into())),
        )],
    );
    let err = client(None)
        .manifest(&proxy.repo("library/down"), "1")
        .unwrap_err();
    assert!(
        err.to_string().ends_with(
            "gave up after 1 attempt: the registry asks to wait 3600 s, longer than this client \
             waits; try again later)"
        ),
        "{err}"
    );
    assert_eq!(proxy.count("GET", "/manifests/"), (1, 1));

    // A 4xx other than 429 is an answer, not a hiccup.
    for status in [400, 404, 409] {
        let proxy = FlakyProxy::start(
            registry.address,
            vec![rule("GET", "/manifests/", 9, Failure::Status(status, None))],
        );
        let err = client(None)
            .manifest(&proxy.repo("library/down"), "1")
            .unwrap_err();
        assert!(
            matches!(err, ClientError::Registry { status: s, .. } if s == status),
            "{status}: {err:?}"
        );
        assert_eq!(proxy.count("GET", "/manifests/"), (1, 1), "{status}");
    }
}

#[test]
fn pushes_retry_manifest_puts_and_restart_blob_uploads_from_their_post() {
    let registry = TestRegistry::open(Quirk::None);
    let proxy = FlakyProxy::start(
        registry.address,
        vec![
            rule("PUT", "/blobs/uploads/", 2, unavailable(None)),
            rule("POST", "/blobs/uploads/", 1, Failure::Drop),
            rule("PUT", "/manifests/", 1, Failure::Status(502, None)),
        ],
    );
    let repo = proxy.repo("library/pushed");
    let image = push_image(&client(None), &repo, "1", "pushed");
    let (posts, failed_posts) = proxy.count("POST", "/blobs/uploads/");
    let (puts, failed_puts) = proxy.count("PUT", "/blobs/uploads/");
    assert_eq!((failed_posts, failed_puts), (1, 2), "{:#?}", proxy.seen());
    assert_eq!(
        (posts, puts),
        (5, 4),
        "two blobs, each upload that failed started again from its POST: {:#?}",
        proxy.seen()
    );
    assert_eq!(proxy.count("PUT", "/manifests/"), (2, 1));
    let direct = registry.repo("library/pushed");
    assert_eq!(
        client(None).manifest(&direct, "1").unwrap().digest,
        image.digest
    );

    // A stream is sought back to where it started for each new upload.
    let proxy = FlakyProxy::start(
        registry.address,
        vec![rule("PUT", "/blobs/uploads/", 1, Failure::Drop)],
    );
    let content = b"prefix that is not part of the blob, then the blob";
    let blob = &content[36..];
    let digest = oci::Digest::of(oci::DigestAlgorithm::Sha256, blob);
    let mut stream = std::io::Cursor::new(&content[..]);
    stream.set_position(36);
    let repo = proxy.repo("library/streamed");
    assert!(client(None)
        .push_blob(&repo, &digest, blob.len() as u64, stream)
        .unwrap());
    assert_eq!(proxy.count("PUT", "/blobs/uploads/"), (2, 1));
    assert_eq!(client(None).blob(&repo, &digest).unwrap(), blob);
}

/// A blob large enough that a cut lands inside its body, pushed to `repo` directly.
fn push_big_blob(registry: &TestRegistry, repo: &str) -> (Vec<u8>, oci::Digest) {
    let content: Vec<u8> = (0..3u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let digest = oci::Digest::of(oci::DigestAlgorithm::Sha256, &content);
    let direct = registry.repo(repo);
    client(None)
        .push_blob(
            &direct,
            &digest,
            content.len() as u64,
            std::io::Cursor::new(&content),
        )
        .unwrap();
    (content, digest)
}

#[test]
fn a_blob_download_cut_midway_resumes_from_where_it_broke() {
    let registry = TestRegistry::open(Quirk::None);
    let (content, digest) = push_big_blob(&registry, "library/resumed");
    let proxy = FlakyProxy::start(
        registry.address,
        vec![rule("GET", "/blobs/", 2, Failure::Cut(1 << 20))],
    );
    let repo = proxy.repo("library/resumed");
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("blob");
    let size = client(None).blob_to_file(&repo, &digest, &path).unwrap();
    assert_eq!(size, content.len() as u64);
    assert!(
        std::fs::read(&path).unwrap() == content,
        "the file is the blob"
    );
    let gets: Vec<String> = proxy
        .seen()
        .into_iter()
        .filter(|line| line.starts_with("GET ") && line.contains("/blobs/"))
        .collect();
    assert_eq!(gets.len(), 3, "{gets:#?}");
    assert!(!gets[0].contains("range="), "{gets:#?}");
    // Each resume asks for the bytes after the last one that arrived, never from the start.
    let starts: Vec<u64> = gets[1..]
        .iter()
        .map(|line| {
            let range = line
                .split("range=bytes=")
                .nth(1)
                .expect("a resume asks for a range");
            range.split('-').next().unwrap().parse().unwrap()
        })
        .collect();
    assert!(starts[0] > 0 && starts[1] > starts[0], "{gets:#?}");
}

#[test]
fn a_registry_that_ignores_the_range_has_the_part_already_read_skipped() {
    let registry = TestRegistry::open(Quirk::None);
    let (content, digest) = push_big_blob(&registry, "library/whole");
    let proxy = FlakyProxy::start(
        registry.address,
        vec![
            rule("GET", "/blobs/", 1, Failure::Cut(1 << 20)),
            rule("GET", "/blobs/", 1, Failure::WithoutRange),
        ],
    );
    let fetched = client(None)
        .blob(&proxy.repo("library/whole"), &digest)
        .unwrap();
    assert!(fetched == content, "the blob, once, in order");
    assert_eq!(proxy.count("GET", "/blobs/"), (2, 2), "{:#?}", proxy.seen());
}

#[test]
fn a_download_that_keeps_breaking_gives_up_and_never_yields_a_partial_file() {
    let registry = TestRegistry::open(Quirk::None);
    let (_, digest) = push_big_blob(&registry, "library/broken");
    let proxy = FlakyProxy::start(
        registry.address,
        vec![rule("GET", "/blobs/", 10, Failure::Cut(0))],
    );
    let work = tempfile::tempdir().unwrap();
    let path = work.path().join("blob");
    let error = client(None)
        .blob_to_file(&proxy.repo("library/broken"), &digest, &path)
        .unwrap_err();
    assert!(
        matches!(error, ClientError::GaveUp { attempts: 4, .. }),
        "{error:?}"
    );
    assert!(error.to_string().contains("4 attempts"), "{error}");
    assert_eq!(proxy.count("GET", "/blobs/"), (4, 4), "{:#?}", proxy.seen());
    assert!(!path.exists());
    assert_eq!(
        std::fs::read_dir(work.path()).unwrap().count(),
        0,
        "no temporary file is left"
    );
}
