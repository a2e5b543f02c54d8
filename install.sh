#!/usr/bin/env bash
# Installs docker secretfs from this checkout: OS packages it needs (as root, through apt), a
# running Docker engine, the npm dependencies and build, and the `docker-secretfs` CLI plugin in
# $DOCKER_CONFIG/cli-plugins (default ~/.docker/cli-plugins). Safe to run again.
#
#   ./install.sh               install (or repair) everything
#   ./install.sh --uninstall   remove what this script installed (not OS packages)
#   ./install.sh --no-system   skip OS packages and the Docker engine
#   ./install.sh --no-build    skip npm ci and the build (use the existing dist/)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
plugin_dir="${DOCKER_CONFIG:-$HOME/.docker}/cli-plugins"
plugin="$plugin_dir/docker-secretfs"
marker="# installed by docker-secretfs install.sh"
dockerd_log="/var/log/secretfs-dockerd.log"

say() { printf '==> %s\n' "$*" >&2; }
fail() { printf 'install.sh: %s\n' "$*" >&2; exit 1; }

do_system=1
do_build=1
uninstall=0
for arg in "$@"; do
  case "$arg" in
    --uninstall) uninstall=1 ;;
    --no-system) do_system=0 ;;
    --no-build) do_build=0 ;;
    -h|--help) sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
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
command -v node >/dev/null 2>&1 || fail "Node.js >= 20 is needed (apt-get install -y nodejs npm, or https://nodejs.org)"
command -v npm >/dev/null 2>&1 || fail "npm is needed (apt-get install -y npm)"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || fail "Node.js >= 20 is needed; this is $(node --version)"
say "Node.js $(node --version), npm $(npm --version 2>/dev/null)"

# 2. OS packages and a running Docker engine.
docker_answers() { docker info >/dev/null 2>&1; }
if [ "$do_system" = 1 ]; then
  missing=()
  command -v fusermount3 >/dev/null 2>&1 || command -v fusermount >/dev/null 2>&1 || missing+=(fuse3)
  [ -x /bin/busybox ] || [ -x /usr/bin/busybox ] || missing+=(busybox-static)
  if ! docker_answers && ! command -v dockerd >/dev/null 2>&1; then missing+=(docker.io); fi
  if [ "${#missing[@]}" -gt 0 ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
      say "installing OS packages: ${missing[*]}"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq >&2
      apt-get install -y -qq "${missing[@]}" >&2
    else
      fail "missing OS packages: ${missing[*]} (install them as root, e.g. sudo apt-get install -y ${missing[*]})"
    fi
  else
    say "OS packages present (fuse3, busybox-static, Docker)"
  fi
  if docker_answers; then
    say "Docker engine answers"
  else
    [ "$(id -u)" = 0 ] || fail "no Docker engine answers; start it (e.g. sudo systemctl start docker)"
    if [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; then
      say "starting the Docker engine with systemd"
      systemctl start docker
    else
      say "starting dockerd in the background (log: $dockerd_log)"
      nohup dockerd >"$dockerd_log" 2>&1 </dev/null &
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

# 4. The CLI plugin: a small launcher, so Docker finds `docker secretfs`.
mkdir -p "$plugin_dir"
if [ -e "$plugin" ] && ! grep -q "$marker" "$plugin" 2>/dev/null; then
  fail "$plugin exists and was not installed by this script; remove it first"
fi
tmp="$(mktemp "$plugin_dir/.docker-secretfs.XXXXXX")"
cat >"$tmp" <<SHIM
#!/bin/sh
$marker
exec "$(command -v node)" "$here/dist/cli/main.js" "\$@"
SHIM
chmod 0755 "$tmp"
mv -f "$tmp" "$plugin"
say "installed the CLI plugin: $plugin"
say "done: try 'docker secretfs --help'"
