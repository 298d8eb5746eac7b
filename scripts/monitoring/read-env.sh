# shellcheck shell=bash
# read_monitoring_env FILE: sets PROMETHEUS_URL, ALERTMANAGER_URL and ALERT_LOG
# from the DIR/env that `beside-node up DIR` writes, parsed as KEY=VALUE lines
# of those keys only, never run as shell (sourcing it would run whatever a
# file planted there says). Returns 1, saying why, on anything else.
read_monitoring_env() {
  local key value line=0
  PROMETHEUS_URL='' ALERTMANAGER_URL='' ALERT_LOG=''
  while IFS= read -r value || [[ -n $value ]]; do
    line=$((line + 1))
    key=${value%%=*}
    value=${value#*=}
    case $key in
      PROMETHEUS_URL | ALERTMANAGER_URL)
        [[ $value =~ ^http://127\.0\.0\.1:[0-9]+$ ]] || {
          echo "$1:$line: $key is not a loopback URL" >&2
          return 1
        }
        ;;
      ALERT_LOG) [[ $value == /* ]] || {
        echo "$1:$line: ALERT_LOG is not an absolute path" >&2
        return 1
      } ;;
      *)
        echo "$1:$line: unknown key ${key@Q}" >&2
        return 1
        ;;
    esac
    printf -v "$key" '%s' "$value"
  done <"$1"
  [[ -n $PROMETHEUS_URL && -n $ALERTMANAGER_URL && -n $ALERT_LOG ]] || {
    echo "$1: PROMETHEUS_URL, ALERTMANAGER_URL or ALERT_LOG missing" >&2
    return 1
  }
}
