//! `hallmark serve` as a child process on 127.0.0.1, and plain HTTP/1.1 over `std::net` to talk
//! to it: what the client and crash tests share.

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `hallmark serve` over one data folder; killed when dropped.
pub struct Server {
    child: Child,
    address: SocketAddr,
    log: Arc<Mutex<String>>,
}

impl Server {
    /// Starts an open server (`--auth none`: what these tests check is not authentication)
    /// on a port the system picks and waits until `/v2/` answers.
    pub fn start(data: &Path) -> Self {
        Self::start_with(data, &["--auth", "none"], None)
    }

    /// Starts a server with token authentication whose initial admin, `admin`, has
    /// `admin_password`.
    pub fn start_with_auth(data: &Path, admin_password: &str) -> Self {
        Self::start_with(data, &["--auth", "token"], Some(admin_password))
    }

    /// Starts an open server that serves HTTPS with `cert` and `key`.
    pub fn start_tls(data: &Path, cert: &Path, key: &Path) -> Self {
        let (cert, key) = (cert.to_str().unwrap(), key.to_str().unwrap());
        let tls = ["--auth", "none", "--tls-cert", cert, "--tls-key", key];
        Self::start_with(data, &tls, None)
    }

    fn start_with(data: &Path, extra: &[&str], admin_password: Option<&str>) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_hallmark"));
        command
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--log",
                "info",
                "--data",
            ])
            .arg(data)
            .args(extra)
            .env_remove("HALLMARK_ADMIN_PASSWORD")
            .env_remove("HALLMARK_AUTH");
        if let Some(password) = admin_password {
            command.env("HALLMARK_ADMIN_PASSWORD", password);
        }
        let mut child = command
            .env_remove("HALLMARK_CONFIG")
            .env_remove("HALLMARK_MAX_MANIFEST_BYTES")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hallmark serve");
        let log = Arc::new(Mutex::new(String::new()));
        let (announced, address) = mpsc::channel();
        let stderr = BufReader::new(child.stderr.take().expect("piped stderr"));
        let sink = Arc::clone(&log);
        // `serve` names the address it bound in its first log line, which makes port 0 safe:
        // no other process can take the port between picking and binding it.
        std::thread::spawn(move || {
            for line in stderr.lines().map_while(Result::ok) {
                if let Some(address) = line
                    .split_whitespace()
                    .find_map(|field| field.strip_prefix("listen="))
                {
                    let _ = announced.send(address.to_owned());
                }
                let mut log = sink.lock().unwrap();
                log.push_str(&line);
                log.push('\n');
            }
        });
        let address = match address.recv_timeout(Duration::from_secs(30)) {
            Ok(address) => address.parse().expect("a socket address after listen="),
            Err(_) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "hallmark serve never announced its address:\n{}",
                    log.lock().unwrap()
                );
            }
        };
        let server = Self {
            child,
            address,
            log,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(reply) = self.try_send("GET", "/v2/", &[], b"") {
                // 401 is a server with authentication asking for a token; 400 one serving
                // HTTPS, refusing this plain-HTTP request.
                let https = reply.status == 400
                    && String::from_utf8_lossy(&reply.body).contains("HTTPS server");
                assert!(
                    https || [200, 401].contains(&reply.status),
                    "GET /v2/: {reply:?}"
                );
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("hallmark serve never answered /v2/:\n{}", self.log());
    }

    /// `127.0.0.1:PORT`, as clients write it before a repository name.
    pub fn host(&self) -> String {
        self.address.to_string()
    }

    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Everything the server has logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// SIGKILL: no shutdown code runs, as in a crash.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL hallmark serve");
        self.child.wait().expect("reap hallmark serve");
    }

    /// One request on a fresh connection, the reply read whole.
    pub fn send(&self, method: &str, path: &str, headers: &[(&str, &str)], body: &[u8]) -> Reply {
        self.try_send(method, path, headers, body)
            .unwrap_or_else(|error| panic!("{method} {path}: {error}\n{}", self.log()))
    }

    fn try_send(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Reply> {
        let mut stream = self.open(method, path, headers, body.len() as u64)?;
        stream.write_all(body)?;
        Reply::read(stream, method == "HEAD")
    }

    /// Connects and sends the request head announcing `length` body bytes; the caller writes
    /// the body (or part of it).
    pub fn open(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        length: u64,
    ) -> std::io::Result<TcpStream> {
        let mut stream = TcpStream::connect(self.address)?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nconnection: close\r\ncontent-length: {length}\r\n",
            self.address
        );
        for (name, value) in headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        Ok(stream)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A reply: status, lower-cased header lines, and the body with any chunked framing removed.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    fn read(mut stream: TcpStream, head_only: bool) -> std::io::Result<Self> {
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        let invalid =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
        let split = raw
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .ok_or_else(|| invalid("no end of the reply head"))?;
        let head = String::from_utf8_lossy(&raw[..split]).into_owned();
        let mut lines = head.split("\r\n");
        let status = lines
            .next()
            .and_then(|line| line.split(' ').nth(1))
            .and_then(|code| code.parse().ok())
            .ok_or_else(|| invalid("no status line"))?;
        let headers: Vec<(String, String)> = lines
            .filter_map(|line| line.split_once(':'))
            .map(|(name, value)| (name.trim().to_lowercase(), value.trim().to_owned()))
            .collect();
        let mut body = raw[split + 4..].to_vec();
        let chunked = headers
            .iter()
            .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
        if chunked && !head_only {
            body = dechunk(&body).ok_or_else(|| invalid("bad chunked framing"))?;
        }
        Ok(Self {
            status,
            headers,
            body,
        })
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The `Location` header as a path on this server, whether it came absolute or not.
    pub fn location(&self) -> String {
        let location = self.header("location").expect("a Location header");
        match location.split_once("://") {
            Some((_, rest)) => rest[rest.find('/').unwrap_or(rest.len())..].to_owned(),
            None => location.to_owned(),
        }
    }
}

fn dechunk(mut rest: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = rest.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&rest[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(out);
        }
        let start = line_end + 2;
        out.extend_from_slice(rest.get(start..start + size)?);
        rest = rest.get(start + size + 2..)?;
    }
}

/// `sha256:<hex>` of some bytes.
pub fn sha256(content: &[u8]) -> String {
    oci::Digest::of(oci::DigestAlgorithm::Sha256, content).to_string()
}
