#!/usr/bin/env bash
# Creates the example library: its source git repositories and the library folder naming
# their commits.
#
#   examples/make-sources.sh OUT [ROOTFS]
#
# OUT/sources/{debian-mini,hello} are git repositories (reached as file:// URLs) and
# OUT/library/{debian-mini,hello} the library files. ROOTFS is a Debian root filesystem
# folder to reuse; without it one is made with `debootstrap --variant=minbase bookworm`
# (minutes; as root) from the mirror apt uses, kept in OUT/rootfs for the next run.
# Commits carry a fixed date, so SOURCE_DATE_EPOCH, and with it the native build of
# debian-mini, is the same on every run over the same root filesystem.
set -euo pipefail

out=${1:?usage: make-sources.sh OUT [ROOTFS]}
rootfs=${2:-}
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
epoch_date="2025-01-01T00:00:00Z"

mirror() { # The Debian archive apt is configured with (deb822 URIs: or a one-line deb entry).
  cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk '/^URIs:/ { print $2 } /^deb / { for (i = 2; i <= NF; i++) if ($i ~ /:\/\//) { print $i; break } }' |
    grep -v security | grep '/debian/*$' | head -n 1 || true
}

if [ -z "$rootfs" ]; then
  rootfs=$out/rootfs
  if [ ! -d "$rootfs/etc" ]; then
    rm -rf "$rootfs.partial"
    debootstrap --variant=minbase bookworm "$rootfs.partial" "$(mirror)" >"$out/debootstrap.log"
    mv "$rootfs.partial" "$rootfs"
  fi
fi

commit() { # commit DIR MESSAGE: commits everything in DIR at the fixed date, prints the id
  git -C "$1" add -A
  GIT_AUTHOR_DATE=$epoch_date GIT_COMMITTER_DATE=$epoch_date \
    git -C "$1" -c user.name="Hallmark Examples" -c user.email=examples@example.invalid \
    commit --quiet -m "$2"
  git -C "$1" rev-parse HEAD
}

new_repo() { # new_repo NAME: a fresh repository holding examples/sources/NAME
  local dir=$out/sources/$1
  rm -rf "$dir"
  mkdir -p "$dir"
  cp -R "$here/sources/$1/." "$dir/"
  git -C "$dir" init --quiet --initial-branch=master
}

library_file() { # library_file NAME COMMIT
  mkdir -p "$out/library"
  sed -e "s|@GITREPO@|file://$out/sources/$1|" -e "s|@GITCOMMIT@|$2|" \
    "$here/library.in/$1" >"$out/library/$1"
}

new_repo debian-mini
# The rootfs as the official images ship it: sorted, numeric owners, times clamped, and no
# device nodes, apt lists or caches.
tar -C "$rootfs" --sort=name --numeric-owner --mtime="$epoch_date" --clamp-mtime \
  --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' --exclude='./run/*' \
  --exclude='./var/lib/apt/lists/*' --exclude='./var/cache/apt/*' --exclude='./var/log/*' \
  -cf - . | gzip -n >"$out/sources/debian-mini/bookworm/rootfs.tar.gz"
library_file debian-mini "$(commit "$out/sources/debian-mini" "debian-mini: bookworm minbase")"

new_repo hello
library_file hello "$(commit "$out/sources/hello" "hello: greeting and a user")"

echo "library: $out/library"
