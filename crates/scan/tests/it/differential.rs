//! Differential tests: the same generated version pairs ordered by this crate and by the
//! ecosystem's own tool (dpkg, rpm's Lua `rpm.vercmp`, pip's vendored `packaging`, Maven's
//! `ComparableVersion`). Each needs its tool installed, hence ignored by default; CI runs
//! ignored tests.

use std::cmp::Ordering;
use std::io::Write;
use std::process::{Command, Stdio};

use scan::{Scheme, Version};

/// xorshift64 with a fixed seed, so a failure names the same pair every run.
struct Rng(u64);

impl Rng {
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        items[(self.0 % items.len() as u64) as usize]
    }

    /// A string of `first` then up to `more` pieces.
    fn build(&mut self, first: &[&str], pieces: &[&str], more: usize) -> String {
        let mut s = self.pick(first).to_owned();
        let n = self
            .pick(&["0", "1", "2", "3", "4", "5", "6"])
            .parse::<usize>()
            .unwrap()
            % (more + 1);
        for _ in 0..n {
            s.push_str(self.pick(pieces));
        }
        s
    }
}

fn ours(scheme: Scheme, a: &str, b: &str) -> Ordering {
    let parse = |s| Version::parse(scheme, s).unwrap_or_else(|e| panic!("{e}"));
    parse(a).cmp(&parse(b))
}

fn sign(n: i64) -> Ordering {
    n.cmp(&0)
}

/// Runs `program` with `stdin`, returning its stdout lines.
fn run(program: &str, args: &[&str], stdin: &str) -> Vec<String> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program} is needed: {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{program} failed");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

fn pairs(rng: &mut Rng, n: usize, make: impl Fn(&mut Rng) -> String) -> Vec<(String, String)> {
    (0..n).map(|_| (make(rng), make(rng))).collect()
}

#[test]
#[ignore = "needs dpkg"]
fn dpkg_agrees_with_dpkg() {
    let mut rng = Rng(0x00d9_c0de);
    let upstream = |r: &mut Rng| {
        r.build(
            &["0", "1", "2", "10"],
            &["~", ".", "+", "a", "z", "1", "09", "~rc", "+dfsg", "A"],
            5,
        )
    };
    let pairs = pairs(&mut rng, 300, |r| {
        let epoch = r.pick(&["", "", "", "1:", "0:"]).to_owned();
        let revision = match r.pick(&["", "-1", "-x"]) {
            "-x" => format!(
                "-{}",
                r.build(&["0", "1", "a", "~"], &["~", ".", "+", "b", "2"], 3)
            ),
            other => other.to_owned(),
        };
        format!("{epoch}{}{revision}", upstream(r))
    });
    for (a, b) in &pairs {
        let theirs = ["lt", "eq", "gt"]
            .iter()
            .position(|op| {
                Command::new("dpkg")
                    .args(["--compare-versions", a, op, b])
                    .status()
                    .unwrap()
                    .success()
            })
            .expect("one relation holds");
        let theirs = [Ordering::Less, Ordering::Equal, Ordering::Greater][theirs];
        assert_eq!(ours(Scheme::Dpkg, a, b), theirs, "{a} vs {b}");
    }
}

#[test]
#[ignore = "needs rpm"]
fn rpm_agrees_with_rpmvercmp() {
    let mut rng = Rng(0x0f0e_d0ce);
    let pairs = pairs(&mut rng, 500, |r| {
        r.build(
            &["0", "1", "2", "a", "~", "^"],
            &["~", "^", ".", "_", "a", "b", "0", "1", "12", "rc", "+"],
            6,
        )
    });
    let script: String = pairs
        .iter()
        .map(|(a, b)| format!("print(rpm.vercmp('{a}', '{b}') .. ',')\n"))
        .collect();
    // rpm's Lua `print` appends to the macro's output without a newline.
    let output = run("rpm", &["--eval", &format!("%{{lua:\n{script}}}")], "").concat();
    let lines: Vec<_> = output.split(',').filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), pairs.len());
    for ((a, b), line) in pairs.iter().zip(lines) {
        assert_eq!(
            ours(Scheme::Rpm, a, b),
            sign(line.trim().parse().unwrap()),
            "{a} vs {b}"
        );
    }
}

#[test]
#[ignore = "needs python3 with pip"]
fn pep440_agrees_with_packaging() {
    let mut rng = Rng(0x0a1b_2c3d);
    let pairs = pairs(&mut rng, 1000, |r| {
        let mut v = r.pick(&["", "", "", "1!", "0!"]).to_owned();
        v.push_str(&r.build(&["0", "1", "2", "10"], &[".0", ".1", ".2", ".10"], 3));
        v.push_str(r.pick(&[
            "",
            "",
            "a",
            "a1",
            "b2",
            "rc1",
            "c1",
            "-alpha.3",
            "pre",
            "_preview2",
        ]));
        v.push_str(r.pick(&["", "", ".post1", "-1", "post", "_r2", ".rev3"]));
        v.push_str(r.pick(&["", "", ".dev", ".dev4", "-dev1"]));
        v.push_str(r.pick(&["", "", "", "+local", "+1", "+abc.2", "+2.abc", "+ubuntu-1"]));
        v
    });
    let script = "import sys\nfrom pip._vendor.packaging.version import Version\nfor line in sys.stdin:\n    a, b = line.rstrip('\\n').split('\\t')\n    a, b = Version(a), Version(b)\n    print((a > b) - (a < b))\n";
    let input: String = pairs.iter().map(|(a, b)| format!("{a}\t{b}\n")).collect();
    let lines = run("python3", &["-c", script], &input);
    for ((a, b), line) in pairs.iter().zip(lines) {
        assert_eq!(
            ours(Scheme::Pep440, a, b),
            sign(line.parse().unwrap()),
            "{a} vs {b}"
        );
    }
}

#[test]
#[ignore = "needs Maven (maven-artifact jar) and java"]
fn maven_agrees_with_comparable_version() {
    let jar = std::fs::read_dir("/usr/share/maven/lib")
        .expect("Maven is installed")
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_string_lossy()
                .starts_with("maven-artifact")
        })
        .expect("maven-artifact jar");
    let mut rng = Rng(0x3a7e_4e11);
    let tokens = [
        "1", "2", "0", "10", "alpha", "a1", "beta", "b", "m2", "rc", "cr", "snapshot", "ga",
        "final", "release", "sp", "foo", "abc", "00",
    ];
    let versions: Vec<String> = (0..1500)
        .map(|_| {
            let mut v = rng.pick(&["1", "2", "0", "1.0"]).to_owned();
            for _ in 0..rng.pick(&["0", "1", "2", "3", "4"]).parse().unwrap() {
                v.push_str(rng.pick(&[".", "-", ""]));
                v.push_str(rng.pick(&tokens));
            }
            v
        })
        .collect();
    let mut args = vec![
        "-cp".to_owned(),
        jar.display().to_string(),
        "org.apache.maven.artifact.versioning.ComparableVersion".to_owned(),
    ];
    args.extend(versions.iter().cloned());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    // Maven prints `   A op B` for each consecutive pair.
    let relations: Vec<String> = run("java", &args, "")
        .into_iter()
        .filter(|l| l.starts_with("   "))
        .collect();
    assert_eq!(relations.len(), versions.len() - 1);
    for (pair, line) in versions.windows(2).zip(relations) {
        let op = line
            .trim()
            .strip_prefix(pair[0].as_str())
            .unwrap()
            .trim_start()
            .split(' ')
            .next()
            .unwrap()
            .to_owned();
        let theirs = match op.as_str() {
            "<" => Ordering::Less,
            "==" => Ordering::Equal,
            ">" => Ordering::Greater,
            other => panic!("unexpected relation {other} in {line}"),
        };
        assert_eq!(
            ours(Scheme::Maven, &pair[0], &pair[1]),
            theirs,
            "{} vs {}",
            pair[0],
            pair[1]
        );
    }
}
