#!/usr/bin/env bash
# Hallmark's registry beside Debian's docker-registry (distribution 2.8) in one run, both on
# loopback over fresh data folders, reported as ratios:
#   - manifest GET requests/s at 32 connections (wrk), goal: Hallmark >= 2x distribution;
#   - 1 GiB blob GET throughput, goal: Hallmark >= 1.5x distribution, timed by two clients:
#     bench/splice_get.py, which moves the body to /dev/null with splice(2) and so leaves the
#     time to the server, and curl, which copies every byte out as real clients do and on two
#     cores costs as much CPU as the server; beside them a bare sendfile(2) server
#     (bench/bare_sendfile.py) with the same file and clients, the fastest any server can
#     deliver to each client here;
#   - 1 GiB monolithic push (POST, then PUT with the whole body), goal: Hallmark >= 80% of the
#     speed of sha256sum over the same file.
# Not part of CI. Usage: bench/registry.sh [WRK-SECONDS] (default 10). Installs wrk and
# docker-registry if missing; stops what it starts, by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
runs=3
get_runs=5 # GETs take a second each; more tries make the best one less hostage to other load

for tool in wrk:wrk docker-registry:docker-registry curl:curl python3:python3; do
  command -v "${tool%%:*}" >/dev/null 2>&1 && continue
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${tool#*:}" >/dev/null
done
cargo build --release --locked -p hallmark --quiet
hallmark=${CARGO_TARGET_DIR:-$PWD/target}/release/hallmark

work=$(mktemp -d)
pids=()
stop() {
  local pid
  for pid in "${pids[@]}"; do
    kill -TERM "$pid" 2>/dev/null || continue
    for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  done
  rm -rf "$work"
}
trap stop EXIT

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_ready() { # wait_ready BASE-URL LOG
  for _ in $(seq 100); do curl -sf -o /dev/null "$1/v2/" && return; sleep 0.1; done
  cat "$2" >&2
  exit 1
}

hallmark_port=$(free_port)
"$hallmark" serve --auth none --listen "127.0.0.1:$hallmark_port" --data "$work/hallmark" --log warn \
  2>"$work/hallmark.log" &
pids+=($!)
declare -A server_pid
server_pid[hallmark]=$!

distribution_port=$(free_port)
# Debian's packaged config less auth and the health check, with request logs off like
# Hallmark's at warn; the in-memory blob descriptor cache stays, as shipped.
cat >"$work/distribution.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  cache:
    blobdescriptor: inmemory
  filesystem:
    rootdirectory: $work/distribution
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$distribution_port
EOF
docker-registry serve "$work/distribution.yml" 2>"$work/distribution.log" &
pids+=($!)
server_pid[distribution]=$!

hallmark_url=http://127.0.0.1:$hallmark_port
distribution_url=http://127.0.0.1:$distribution_port
wait_ready "$hallmark_url" "$work/hallmark.log"
wait_ready "$distribution_url" "$work/distribution.log"

digest_of() { echo "sha256:$(sha256sum "$1" | cut -d' ' -f1)"; }

# push_blob BASE-URL REPO FILE: POST, then one PUT with the whole file; prints seconds taken.
push_blob() {
  local location separator
  location=$(curl -sSf -X POST -D - -o /dev/null "$1/v2/$2/blobs/uploads/" |
    tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
  case $location in http*) ;; *) location=$1$location ;; esac
  case $location in *\?*) separator='&' ;; *) separator='?' ;; esac
  curl -sSf -o /dev/null -H 'Expect:' -H 'Content-Type: application/octet-stream' -T "$3" \
    -w '%{time_total}' "$location${separator}digest=$(digest_of "$3")"
}

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
echo "making the test content" >&2
head -c 1073741824 /dev/urandom >"$work/big"
printf 'layer for the manifest benchmark\n' >"$work/layer"
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["%s"]}}' \
  "$(digest_of "$work/layer")" >"$work/config"
cat >"$work/manifest" <<EOF
{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"$(digest_of "$work/config")","size":$(stat -c %s "$work/config")},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"$(digest_of "$work/layer")","size":$(stat -c %s "$work/layer")}]}
EOF
manifest_type=application/vnd.oci.image.manifest.v1+json

best() { sort -g | head -n 1; }
ratio() { python3 -c "import sys; print(f'{float(sys.argv[1]) / float(sys.argv[2]):.2f}')" "$1" "$2"; }
mib_per_s() { python3 -c "import sys; print(f'{1024 / float(sys.argv[1]):.0f}')" "$1"; }

declare -A push_s get_s manifest_rps
for name in hallmark distribution; do
  url_var=${name}_url
  url=${!url_var}
  push_blob "$url" bench/image "$work/layer" >/dev/null
  push_blob "$url" bench/image "$work/config" >/dev/null
  curl -sSf -o /dev/null -X PUT -H "Content-Type: $manifest_type" --data-binary "@$work/manifest" \
    "$url/v2/bench/image/manifests/latest"
done

echo "1 GiB monolithic pushes, $runs each, alternating" >&2
for name in hallmark distribution; do push_s[$name]=""; get_s[$name]=""; done
for run in $(seq "$runs"); do
  # New content each run (its first bytes changed), so no store can skip work it did before.
  printf 'run %08d' "$run" | dd of="$work/big" conv=notrunc status=none
  for name in hallmark distribution; do
    url_var=${name}_url
    push_s[$name]+="$(push_blob "${!url_var}" bench/big "$work/big") "
  done
done
big_digest=$(digest_of "$work/big")

echo "sha256sum of the same file, $runs times" >&2
sha_s=""
for run in $(seq "$runs"); do
  start=$(date +%s.%N)
  sha256sum "$work/big" >/dev/null
  sha_s+="$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)") "
done

bare_port=$(free_port)
python3 bench/bare_sendfile.py "$bare_port" "$work/big" 2>"$work/bare.log" &
pids+=($!)
server_pid[bare]=$!
bare_url=http://127.0.0.1:$bare_port
for _ in $(seq 100); do curl -sfI -o /dev/null "$bare_url/" && break; sleep 0.1; done

# cpu_ticks PID: the user and system CPU time the process has used, in clock ticks (the
# kernel's loopback receive work runs mostly in the sending server's system time).
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }

echo "1 GiB blob GETs, $get_runs each per client, alternating" >&2
declare -A splice_s get_ticks
for name in hallmark distribution bare; do get_s[$name]=""; splice_s[$name]=""; get_ticks[$name]=0; done
for run in $(seq "$get_runs"); do
  for name in hallmark distribution bare; do
    url_var=${name}_url
    blob_url=${!url_var}/v2/bench/big/blobs/$big_digest
    before=$(cpu_ticks "${server_pid[$name]}")
    get_s[$name]+="$(curl -sSf -o /dev/null -w '%{time_total}' "$blob_url") "
    splice_s[$name]+="$(python3 bench/splice_get.py "$blob_url") "
    get_ticks[$name]=$((get_ticks[$name] + $(cpu_ticks "${server_pid[$name]}") - before))
  done
done
# CPU seconds a server spent per GiB sent, over all its GETs (two per run).
cpu_per_gib() { python3 -c "import sys; print(f'{int(sys.argv[1]) / $(getconf CLK_TCK) / (2 * $get_runs):.2f}')" "$1"; }

echo "manifest GETs: wrk, 2 threads, 32 connections, ${seconds}s each" >&2
for name in hallmark distribution; do
  url_var=${name}_url
  out=$(wrk -t2 -c32 -d"${seconds}s" -H "Accept: $manifest_type" \
    "${!url_var}/v2/bench/image/manifests/latest")
  if grep -q 'Non-2xx' <<<"$out"; then
    echo "$name answered errors under load:" >&2
    echo "$out" >&2
    exit 1
  fi
  manifest_rps[$name]=$(awk '/^Requests\/sec:/ {print $2}' <<<"$out")
done

load_after=$(cut -d' ' -f1-3 /proc/loadavg)
h_push=$(tr ' ' '\n' <<<"${push_s[hallmark]}" | grep . | best)
d_push=$(tr ' ' '\n' <<<"${push_s[distribution]}" | grep . | best)
sha=$(tr ' ' '\n' <<<"$sha_s" | grep . | best)
h_get=$(tr ' ' '\n' <<<"${get_s[hallmark]}" | grep . | best)
d_get=$(tr ' ' '\n' <<<"${get_s[distribution]}" | grep . | best)
bare_get=$(tr ' ' '\n' <<<"${get_s[bare]}" | grep . | best)
h_splice=$(tr ' ' '\n' <<<"${splice_s[hallmark]}" | grep . | best)
d_splice=$(tr ' ' '\n' <<<"${splice_s[distribution]}" | grep . | best)
bare_splice=$(tr ' ' '\n' <<<"${splice_s[bare]}" | grep . | best)

cat <<EOF

$(date -u +%F), $(nproc) cores, load average $load_before before and $load_after after.

| measure | Hallmark | distribution 2.8 | ratio | goal |
|---|---|---|---|---|
| manifest GET, 32 connections (req/s) | ${manifest_rps[hallmark]} | ${manifest_rps[distribution]} | $(ratio "${manifest_rps[hallmark]}" "${manifest_rps[distribution]}")x | >= 2x |
| 1 GiB blob GET, splice(2) client (MiB/s, best of $get_runs) | $(mib_per_s "$h_splice") | $(mib_per_s "$d_splice") | $(ratio "$d_splice" "$h_splice")x | >= 1.5x |
| 1 GiB blob GET, curl (MiB/s, best of $get_runs) | $(mib_per_s "$h_get") | $(mib_per_s "$d_get") | $(ratio "$d_get" "$h_get")x | - |
| 1 GiB GET, bare sendfile(2) server, splice(2) client (MiB/s, best of $get_runs) | $(mib_per_s "$bare_splice") | | Hallmark / bare: $(ratio "$bare_splice" "$h_splice"); bare / distribution: $(ratio "$d_splice" "$bare_splice")x | - |
| server CPU per GiB sent (s, mean of $((2 * get_runs)) GETs) | $(cpu_per_gib "${get_ticks[hallmark]}") | $(cpu_per_gib "${get_ticks[distribution]}") | $(ratio "${get_ticks[distribution]}" "${get_ticks[hallmark]}")x less | - |
| 1 GiB GET, bare sendfile(2) server, curl (MiB/s, best of $get_runs) | $(mib_per_s "$bare_get") | | Hallmark / bare: $(ratio "$bare_get" "$h_get"); bare / distribution: $(ratio "$d_get" "$bare_get")x | - |
| 1 GiB monolithic push (MiB/s, best of $runs) | $(mib_per_s "$h_push") | $(mib_per_s "$d_push") | $(ratio "$d_push" "$h_push")x | - |
| sha256sum of the same file (MiB/s, best of $runs) | $(mib_per_s "$sha") | | Hallmark push / sha256sum: $(ratio "$sha" "$h_push") | >= 0.80 |
EOF
