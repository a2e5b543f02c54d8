#!/usr/bin/env bash
# Installs docker secretfs from this checkout: OS packages it needs (as root, through apt), a
# running Docker engine, the npm dependencies and build, and the `docker-secretfs` CLI plugin in
# $DOCKER_CONFIG/cli-plugins (default ~/.docker/cli-plugins). Safe to run again.
#
#   ./install.sh               install (or repair) everything
#   ./install.sh --uninstall   remove what this script installed (not OS packages)
#   ./install.sh --no-system   skip OS packages and the Docker engine
#   ./install.sh --no-build    skip npm ci and the build (use the existing dist/)
#   ./install.sh --plan        print which OS packages it manages are present or missing; change nothing
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
plugin="$plugin_dir/docker-secretfs"
marker="# installed by docker-secretfs install.sh"
dockerd_log="${SECRETFS_DOCKERD_LOG:-/var/log/secretfs-dockerd.log}"

say() { printf '==> %s\n' "$*" >&2; }
fail() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

do_system=1
do_build=1
uninstall=0
plan=0
for arg in "$@"; do
  case "$arg" in
    --uninstall) uninstall=1 ;;
    --no-system) do_system=0 ;;
    --no-build) do_build=0 ;;
    --plan) plan=1 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) fail "unknown option $arg (see ./install.sh --help)" ;;
  esac
done

if [ "$uninstall" = 1 ]; then
  if [ -f "$plugin" ] && grep -q "$marker" "$plugin"; then
    rm -f "$plugin"
    say "removed the CLI plugin $plugin"
  elif [ -e "$plugin" ]; then
    fail "$plugin was not installed by this script; left alone"
  else
    say "no CLI plugin at $plugin"
  fi
  rm -rf "$here/dist" "$here/node_modules"
  say "removed the build (dist/) and node_modules/"
  say "left alone: OS packages, the Docker engine, and secretfs data (stop it first with 'docker secretfs driver stop' and 'docker secretfs server stop')"
  exit 0
fi

# 1. Node.js and npm.
if [ "$plan" = 0 ]; then
  command -v node >/dev/null 2>&1 || fail "Node.js >= 20 is needed (apt-get install -y nodejs npm, or https://nodejs.org)"
  command -v npm >/dev/null 2>&1 || fail "npm is needed (apt-get install -y npm)"
  node_major="$(node -p 'process.versions.node.split(".")[0]')"
  [ "$node_major" -ge 20 ] || fail "Node.js >= 20 is needed; this is $(node --version)"
  say "Node.js $(node --version), npm $(npm --version 2>/dev/null)"
fi

# 2. OS packages and a running Docker engine.
# Every OS package the product, the tests (`npm test`) and the benchmark (`npm run bench`) need,
# each decided on its own by `dpkg -s` or `command -v`:
#   libfuse2        libfuse.so.2, which fuse-native's prebuilt addon links (Ubuntu 24.04: libfuse2t64)
#   fuse3           fusermount3 and /dev/fuse handling
#   busybox-static  the local image made with `docker import` (no registry needed)
#   docker.io       dockerd and the docker CLI (also for the tests' private dockerd)
#   libfuse-dev pkg-config gcc   the benchmark's C FUSE floor
#   docker-compose  the Compose tests (Debian's 1.29)
#   openssl         the TLS tests' private CA
#   util-linux      unshare, for the tests' private dockerd (its own mount and network namespaces)
#   iproute2        ip, for the private dockerd's loopback (and the bridge of one in the host's network)
#   g++ make python3  npm ci builds better-sqlite3's addon from source when no prebuilt one downloads
# As root with apt-get, the missing ones are installed; otherwise they are named and nothing changes.
# When no Docker engine answers, dockerd is started (systemd, or in the background with its pid
# in $dockerd_pidfile, so whoever ran this can stop it).
dockerd_pidfile="${SECRETFS_DOCKERD_PIDFILE:-/run/secretfs-install-dockerd.pid}"
docker_answers() { docker info >/dev/null 2>&1; }
has_pkg() { dpkg -s "$1" >/dev/null 2>&1; }
has_cmd() { command -v "$1" >/dev/null 2>&1; }
libfuse2_pkg() {
  # Ubuntu 24.04 renamed it; Debian 12 and Ubuntu 22.04 call it libfuse2.
  if apt-cache show libfuse2t64 >/dev/null 2>&1 && ! apt-cache show libfuse2 2>/dev/null | grep -q '^Version'; then echo libfuse2t64; else echo libfuse2; fi
}
# The managed packages in install order; package_present says how each one's presence is decided.
managed_packages="libfuse2 fuse3 busybox-static docker.io libfuse-dev pkg-config gcc docker-compose openssl util-linux iproute2 g++ make python3"
package_present() {
  case "$1" in
    libfuse2) has_pkg libfuse2 || has_pkg libfuse2t64 ;;
    fuse3) has_cmd fusermount3 || has_cmd fusermount ;;
    busybox-static | libfuse-dev) has_pkg "$1" ;;
    docker.io) has_cmd dockerd ;;
    util-linux) has_cmd unshare ;;
    iproute2) has_cmd ip ;;
    *) has_cmd "$1" ;;
  esac
}
missing_packages() {
  for p in $managed_packages; do
    package_present "$p" && continue
    if [ "$p" = libfuse2 ]; then libfuse2_pkg; else echo "$p"; fi
  done
}
if [ "$plan" = 1 ]; then
  for p in $managed_packages; do
    if package_present "$p"; then state=present; else state=missing; fi
    printf '%-15s %s\n' "$p" "$state"
  done
  exit 0
fi
if [ "$do_system" = 1 ]; then
  mapfile -t missing < <(missing_packages)
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" != 0 ]; then
      fail "missing OS packages: ${missing[*]}; nothing was changed. Install them as root (sudo apt-get install -y ${missing[*]}), then run ./install.sh again"
    fi
    if ! has_cmd apt-get; then
      fail "missing OS packages: ${missing[*]}; nothing was changed. This machine has no apt-get: install the equivalents with its package manager, then run ./install.sh again"
    fi
    say "installing OS packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq "${missing[@]}" >&2
  else
    say "OS packages present (libfuse2, fuse3, busybox-static, docker.io, libfuse-dev, pkg-config, gcc, docker-compose, openssl, util-linux, g++, make, python3)"
  fi
  if docker_answers; then
    say "Docker engine answers"
  else
    [ "$(id -u)" = 0 ] || fail "no Docker engine answers; start it (e.g. sudo systemctl start docker)"
    if [ -d /run/systemd/system ] && has_cmd systemctl; then
      say "starting the Docker engine with systemd"
      systemctl start docker
    else
      say "starting dockerd in the background (log: $dockerd_log, pid in $dockerd_pidfile)"
      nohup dockerd >"$dockerd_log" 2>&1 </dev/null &
      echo "$!" >"$dockerd_pidfile"
    fi
    for _ in $(seq 1 60); do docker_answers && break; sleep 1; done
    docker_answers || fail "dockerd did not answer within 60 s; see $dockerd_log"
    say "Docker engine answers"
  fi
fi

# 3. Dependencies and build.
if [ "$do_build" = 1 ]; then
  say "installing npm dependencies (npm ci)"
  (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2)
  say "building (tsc)"
  (cd "$here" && npm run --silent build >&2)
fi
[ -f "$here/dist/cli/main.js" ] || fail "no build at $here/dist; run without --no-build"

# 4. The CLI plugin: a small launcher, so Docker finds `docker secretfs` (scripts/plugin-shim.mjs:
# it answers Docker's metadata call itself, without starting Node).
mkdir -p "$plugin_dir"
if [ -e "$plugin" ] && ! grep -q "$marker" "$plugin" 2>/dev/null; then
  fail "$plugin exists and was not installed by this script; remove it first"
fi
(cd "$here" && "$(command -v node)" scripts/plugin-shim.mjs "$plugin")
say "installed the CLI plugin: $plugin"

# 5. The FUSE binding must load from this install's node_modules (the one check of lib/fs/fuse-binding.ts,
# as doctor and the driver run it); without it every mount fails.
if [ "$do_system" = 1 ]; then
  binding="$here/dist/lib/fs/fuse-binding.js"
  [ -f "$binding" ] || fail "no build of $binding; run without --no-build"
  problem="$(cd "$here" && node --input-type=module -e "const m = await import(process.argv[1]); const p = m.fuseBindingProblem(); if (p) console.log(p.message + ' (' + p.hint + ')');" "$binding")" \
    || fail "could not run the FUSE binding check with node"
  [ -z "$problem" ] || fail "$problem"
  say "the FUSE binding loads"
fi
say "done: try 'docker secretfs --help'"
