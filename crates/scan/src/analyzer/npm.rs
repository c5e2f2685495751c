//! npm packages: the `package.json` of every package installed under `node_modules/`, and
//! for an application shipped without `node_modules`, its `package-lock.json`.
//!
//! What is installed counts, not what a manifest wishes: an installed package's own lockfile
//! lists its development dependencies, which are not there, so lockfiles inside
//! `node_modules` are never read (see [`super::wanted`]) and dev entries are skipped.

use serde_json::Value;

use super::{Found, PackageKind};

/// The package an installed `package.json` describes.
pub fn parse_package_json(data: &[u8]) -> Option<Found> {
    let json: Value = serde_json::from_slice(data).ok()?;
    let name = json.get("name")?.as_str()?.trim();
    let version = json.get("version")?.as_str()?.trim();
    if name.is_empty() || version.is_empty() {
        return None;
    }
    Some(found(name, version, licenses(&json)))
}

/// The packages a lockfile says are installed in production: lockfile v2/v3 `packages`
/// (keyed by install path), or v1's nested `dependencies`.
pub fn parse_lockfile(data: &[u8]) -> Option<Vec<Found>> {
    let json: Value = serde_json::from_slice(data).ok()?;
    let mut out = Vec::new();
    if let Some(packages) = json.get("packages").and_then(Value::as_object) {
        for (path, entry) in packages {
            let Some((_, name)) = path.rsplit_once("node_modules/") else {
                continue; // "" is the application itself
            };
            if is_true(entry, "dev") || is_true(entry, "link") || is_true(entry, "extraneous") {
                continue;
            }
            let name = entry.get("name").and_then(Value::as_str).unwrap_or(name);
            if let Some(version) = entry.get("version").and_then(Value::as_str) {
                out.push(found(name, version, licenses(entry)));
            }
        }
    } else if let Some(dependencies) = json.get("dependencies") {
        v1_dependencies(dependencies, 0, &mut out);
    }
    Some(out)
}

/// Deep enough for any real tree; a hostile file cannot recurse further.
const MAX_DEPTH: usize = 64;

fn v1_dependencies(dependencies: &Value, depth: usize, out: &mut Vec<Found>) {
    let Some(map) = dependencies.as_object().filter(|_| depth < MAX_DEPTH) else {
        return;
    };
    for (name, entry) in map {
        if is_true(entry, "dev") || is_true(entry, "bundled") && depth > 0 {
            continue;
        }
        if let Some(version) = entry.get("version").and_then(Value::as_str) {
            // v1 records links and tarball URLs in `version`; only registry versions match.
            if !version.contains(':') && !version.contains('/') {
                out.push(found(name, version, Vec::new()));
            }
        }
        if let Some(nested) = entry.get("dependencies") {
            v1_dependencies(nested, depth + 1, out);
        }
    }
}

fn is_true(entry: &Value, key: &str) -> bool {
    entry.get(key).and_then(Value::as_bool) == Some(true)
}

fn found(name: &str, version: &str, licenses: Vec<String>) -> Found {
    Found {
        kind: PackageKind::Npm,
        name: name.to_owned(),
        version: version.to_owned(),
        source: None,
        arch: None,
        licenses,
    }
}

/// `license` as an SPDX string or the old `{ "type": … }` object; the older `licenses` array.
fn licenses(json: &Value) -> Vec<String> {
    let one = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Object(o) => o.get("type").and_then(Value::as_str).map(str::to_owned),
        _ => None,
    };
    match (json.get("license"), json.get("licenses")) {
        (Some(l), _) => one(l).into_iter().collect(),
        (None, Some(Value::Array(all))) => all.iter().filter_map(one).collect(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn package_json_tables() {
        for (text, expected) in [
            (
                r#"{"name":"lodash","version":"4.17.15","license":"MIT","devDependencies":{"x":"1"}}"#,
                Some(("lodash", "4.17.15", vec!["MIT"])),
            ),
            (
                r#"{"name":"@babel/core","version":"7.0.0","license":{"type":"MIT"}}"#,
                Some(("@babel/core", "7.0.0", vec!["MIT"])),
            ),
            (
                r#"{"name":"old","version":"0.1.0","licenses":[{"type":"MIT"},"BSD"]}"#,
                Some(("old", "0.1.0", vec!["MIT", "BSD"])),
            ),
            (r#"{"name":"x"}"#, None),
            (r#"{"name":"","version":"1"}"#, None),
            (r#"[1,2]"#, None),
            ("not json", None),
        ] {
            let f = parse_package_json(text.as_bytes());
            let got = f.as_ref().map(|f| {
                (
                    f.name.as_str(),
                    f.version.as_str(),
                    f.licenses.iter().map(String::as_str).collect::<Vec<_>>(),
                )
            });
            assert_eq!(got, expected, "{text}");
        }
    }

    fn names(found: Vec<Found>) -> Vec<String> {
        let mut names: Vec<_> = found
            .into_iter()
            .map(|f| format!("{}@{}", f.name, f.version))
            .collect();
        names.sort();
        names
    }

    #[test]
    fn lockfiles_skip_dev_dependencies() {
        let v3 = r#"{"name":"app","lockfileVersion":3,"packages":{
            "":{"name":"app","version":"1.0.0"},
            "node_modules/express":{"version":"4.17.1","license":"MIT"},
            "node_modules/express/node_modules/qs":{"version":"6.7.0"},
            "node_modules/@types/node":{"version":"20.0.0","dev":true},
            "node_modules/local":{"resolved":"../local","link":true}}}"#;
        assert_eq!(
            names(parse_lockfile(v3.as_bytes()).unwrap()),
            ["express@4.17.1", "qs@6.7.0"]
        );
        let v1 = r#"{"lockfileVersion":1,"dependencies":{
            "minimist":{"version":"1.2.5"},
            "mocha":{"version":"8.0.0","dev":true,"dependencies":{"debug":{"version":"4.1.1"}}},
            "mine":{"version":"file:../mine"},
            "a":{"version":"1.0.0","dependencies":{"b":{"version":"2.0.0"}}}}}"#;
        assert_eq!(
            names(parse_lockfile(v1.as_bytes()).unwrap()),
            ["a@1.0.0", "b@2.0.0", "minimist@1.2.5"]
        );
        assert!(parse_lockfile(b"{").is_none());
    }
}
