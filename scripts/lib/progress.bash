# Progress lines for long scripts (sourced by scripts/test, scripts/demo and
# scripts/build-k8s): the elapsed time, and a line every 30 s while a long step
# runs, so that a cold build of many minutes is not taken for a hang.
#
#   progress_elapsed              prints the time since the script started, as 1m05s
#   with_heartbeat WHAT CMD...    runs CMD, its output untouched, and prints
#                                 "  ... WHAT: still running after N s (1m05s in all)"
#                                 to stderr every 30 s; returns CMD's exit status
#
# A script may set progress_prefix (e.g. "[build-k8s] ") before calling them.
# shellcheck shell=bash

progress_start=${progress_start:-$SECONDS}
progress_prefix=${progress_prefix:-}
progress_interval=${progress_interval:-30}

progress_elapsed() {
  local s=$((SECONDS - progress_start))
  printf '%dm%02ds' $((s / 60)) $((s % 60))
}

# The command in the background, so that an interrupted script stops it too.
heartbeat_pid=''
with_heartbeat() {
  local what=$1 start=$SECONDS ticks=0 status=0
  shift
  "$@" &
  heartbeat_pid=$!
  while kill -0 "$heartbeat_pid" 2>/dev/null; do
    sleep 1
    if ((++ticks % progress_interval == 0)) && kill -0 "$heartbeat_pid" 2>/dev/null; then
      printf '%s  ... %s: still running after %d s (%s in all)\n' \
        "$progress_prefix" "$what" $((SECONDS - start)) "$(progress_elapsed)" >&2
    fi
  done
  wait "$heartbeat_pid" || status=$?
  heartbeat_pid=''
  return "$status"
}

# stop_heartbeat_command: for an EXIT trap, stops the command still running.
stop_heartbeat_command() {
  if [[ -n $heartbeat_pid ]]; then kill -TERM "$heartbeat_pid" 2>/dev/null || true; fi
}
