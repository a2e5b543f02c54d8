#!/bin/sh
# installed by docker-secretfs install.sh
# The launcher Docker finds in cli-plugins/ (written from this template by scripts/plugin-shim.mjs,
# which fills in the @...@ words). It answers Docker's metadata call itself, takes `run`'s fast
# lane when it can, and otherwise hands everything to the built CLI.
if [ "$1" = docker-cli-plugin-metadata ]; then
  printf '%s\n' @METADATA@
  exit 0
fi

# ---- `docker secretfs run`'s fast lane -----------------------------------------------------------
# `run [--path P] -- ARGS` on an allowed path is nothing but `docker run --rm` with an anonymous
# volume of our driver, which mints and revokes the token itself. When the full command (Node) has
# found a path allowed, it records the `--mount` for it (lib/app/run-lane.ts, which owns the
# format: the record holds no secret), and later runs of that path start `docker run` at once,
# without starting Node. Anything the record does not cover exactly goes to the full command:
# another option, a path not recorded, a record not newer than the config, expired, from another boot,
# or made for a driver process that is gone. A `docker run` failure of Docker's own (125, e.g. the
# driver refusing a path no longer allowed) drops the record, so the next run checks again.
# Stop requests are those of the full command (cli/termination.ts): SIGINT is passed to the docker
# CLI, SIGTERM or the docker CLI closing its plugin socket stops the container (`docker stop`),
# and a second request after a second ends us at once, saying what stays.

lane_home() {
  if [ -n "${SECRETFS_HOME-}" ]; then lane_dir=$SECRETFS_HOME; return; fi
  lane_uid=
  while read -r lane_k lane_v _; do
    if [ "$lane_k" = Uid: ]; then lane_uid=$lane_v; break; fi
  done </proc/self/status
  if [ "$lane_uid" = 0 ]; then lane_dir=/var/lib/secretfs
  elif [ -n "${XDG_DATA_HOME-}" ]; then lane_dir=$XDG_DATA_HOME/secretfs
  else lane_dir=${HOME-}/.local/share/secretfs
  fi
}

# The 20th field after a /proc/PID/stat's command name is the process's start time.
lane_starttime() { shift 19; lane_start=${1-}; }

# Sets lane_mount for the path key $1 ('' for the config's default path), or fails.
lane_lookup() {
  lane_home
  lane_file=$lane_dir/run/run-lane
  lane_config=$lane_dir/config.json
  [ -r "$lane_file" ] && [ -f "$lane_config" ] || return 1
  [ "$lane_file" -nt "$lane_config" ] || return 1
  read -r lane_boot </proc/sys/kernel/random/boot_id || return 1
  read -r lane_now _ </proc/uptime || return 1
  lane_now=${lane_now%.*}
  lane_mount= lane_header= lane_ok_boot= lane_ok_env= lane_ok_default_env= lane_ok_pid=
  while read -r lane_k lane_a lane_b lane_c; do
    case $lane_k in
      secretfs-run-lane) [ "$lane_a" = 1 ] && lane_header=1 ;;
      boot) [ "$lane_a" = "$lane_boot" ] && lane_ok_boot=1 ;;
      driver-env) [ "$lane_a" = "${SECRETFS_DRIVER_NAME:--}" ] && lane_ok_env=1 ;;
      default-env) [ "$lane_a" = "${SECRETFS_DEFAULT_PATH:--}" ] && lane_ok_default_env=1 ;;
      pid)
        if [ "$lane_a" = - ]; then lane_ok_pid=1
        elif read -r lane_stat 2>/dev/null <"/proc/$lane_a/stat"; then
          # shellcheck disable=SC2086 # the fields after the command name, one word each
          lane_starttime ${lane_stat##*) }
          [ "$lane_start" = "$lane_b" ] && lane_ok_pid=1
        fi ;;
      default) [ -z "$1" ] && [ "$lane_now" -lt "$lane_a" ] 2>/dev/null && lane_mount=$lane_b ;;
      path) [ -n "$1" ] && [ "$lane_a" = "$1" ] && [ "$lane_now" -lt "$lane_b" ] 2>/dev/null && lane_mount=$lane_c ;;
    esac
  done <"$lane_file"
  [ -n "$lane_header" ] && [ -n "$lane_ok_boot" ] && [ -n "$lane_ok_env" ] && [ -n "$lane_ok_default_env" ] && [ -n "$lane_ok_pid" ] && [ -n "$lane_mount" ]
}

# Centiseconds since boot: the clock of the repeat grace.
lane_clock() {
  read -r lane_up _ </proc/uptime
  lane_cs=${lane_up%.*}${lane_up#*.}
  lane_cs=${lane_cs#"${lane_cs%%[!0]*}"}
}

# Stops our container once docker has created it (looked up by its label), as `docker stop` does;
# looks for it as long as the docker CLI runs (it may still be pulling the image).
lane_stop_container() {
  while kill -0 "$lane_child" 2>/dev/null; do
    lane_ids=$("$lane_docker" ps -q --filter "label=$lane_label")
    if [ -n "$lane_ids" ]; then
      # shellcheck disable=SC2086 # one word per id
      "$lane_docker" stop $lane_ids >/dev/null
      return
    fi
    sleep 0.25
  done
}

lane_request() {
  lane_interrupted=1
  lane_clock
  if [ -z "$lane_reason" ]; then
    lane_reason=$1 lane_first=$lane_cs
    if [ "$1" = INT ]; then kill -INT "$lane_child" 2>/dev/null
    else lane_stop_container & lane_stopper=$!
    fi
    return
  fi
  [ $((lane_cs - lane_first)) -lt 100 ] && return
  # As the full command: only a stop (SIGTERM) leaves a container being stopped behind.
  [ "$lane_reason" = TERM ] && printf '%s\n' "docker secretfs: left behind: the container labelled $lane_label, still stopping (docker then removes it, and the driver its secrets volume and token)" >&2
  lane_exit
}

lane_exit() {
  [ -n "$lane_watcher" ] && kill "$lane_watcher" 2>/dev/null
  [ -n "$lane_stopper" ] && kill "$lane_stopper" 2>/dev/null
  case $lane_reason in
    INT) exit 130 ;;
    TERM) exit 143 ;;
  esac
  [ "$lane_status" = 125 ] && : >"$lane_file" 2>/dev/null
  exit "$lane_status"
}

# The docker CLI closes its plugin socket to ask us to stop (cli/plugin-socket.ts says why perl):
# told as a SIGTERM, and only to the shell that started the watcher (never to a reused pid).
LANE_WATCH='use Socket; my ($n, $p) = @ARGV; $n =~ s/^@/\0/;
socket(my $s, AF_UNIX, SOCK_STREAM, 0) or exit 3;
if (connect($s, pack_sockaddr_un($n))) { 1 while sysread($s, my $b, 64); }
kill("TERM", $p) if getppid() == $p;'

lane_run() {
  lane_docker=${DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND:-docker}
  lane_socket=${DOCKER_CLI_PLUGIN_SOCKET-}
  # The plugin-only variables would make the docker CLI we start think it is a plugin too.
  unset DOCKER_CLI_PLUGIN_ORIGINAL_CLI_COMMAND DOCKER_CLI_PLUGIN_SOCKET
  read -r lane_uuid </proc/sys/kernel/random/uuid
  lane_id=${lane_uuid%%-*}${lane_uuid#*-}
  lane_id=${lane_id%%-*}
  lane_label=io.secretfs.run=$lane_id
  lane_reason= lane_watcher= lane_stopper= lane_status=
  trap 'lane_request INT' INT
  trap 'lane_request TERM' TERM
  # A background job's stdin would be /dev/null: the saved one is given back explicitly (none: none).
  if [ -e /proc/self/fd/0 ]; then exec 3<&0; else exec 3</dev/null; fi
  "$lane_docker" run --rm --label "$lane_label" --mount "$lane_mount" "$@" <&3 3<&- &
  lane_child=$!
  exec 3<&-
  if [ -n "$lane_socket" ]; then
    perl -e "$LANE_WATCH" "$lane_socket" "$$" </dev/null >/dev/null 2>&1 &
    lane_watcher=$!
  fi
  # A trapped signal ends `wait` early (above 128); wait again until the docker CLI has exited.
  while :; do
    lane_interrupted=
    wait "$lane_child"
    lane_status=$?
    [ "$lane_status" -gt 128 ] && [ -n "$lane_interrupted" ] || break
  done
  lane_exit
}

# `secretfs run [--path P] -- ARGS`: the lane when the record covers it (lane_run never returns).
lane_main() {
  [ "${1-}" = secretfs ] && [ "${2-}" = run ] || return 0
  shift 2
  lane_key=
  case ${1-} in
    --path) [ $# -ge 2 ] && [ -n "$2" ] || return 0; lane_key=$2; shift 2 ;;
    --path=?*) lane_key=${1#--path=}; shift ;;
  esac
  [ "${1-}" = -- ] && [ $# -ge 2 ] || return 0
  shift
  # Detached runs (refused by the full command) and anything that could mean one go there.
  for lane_arg in "$@"; do
    case $lane_arg in --detach | --detach=* | -d* | -[!-]*d*) return 0 ;; esac
  done
  lane_lookup "$lane_key" || return 0
  lane_run "$@"
}

lane_main "$@"
exec @NODE@ @MAIN@ "$@"
