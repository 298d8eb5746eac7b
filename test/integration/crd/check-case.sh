#!/usr/bin/env bash
# check-case.sh valid|invalid FILE
#
# Runs one CRD validation case against the cluster of $KUBECONFIG, in a fresh
# namespace that is deleted afterwards.
#   valid:   `kubectl create -n NS -f FILE` must succeed, and `kubectl get` must
#            return every object it created.
#   invalid: `kubectl create -n NS -f FILE` (plus the words of every
#            `# flags: ...` line of FILE) must fail, and the text of every
#            `# expect: ...` line must appear in kubectl's output. An invalid
#            case needs at least one expect line.
# Prints one verdict line (PASS/FAIL), and kubectl's output on failure.
#   env: KUBECONFIG, KUBECTL (default: kubectl)
set -uo pipefail

kubectl=${KUBECTL:-kubectl}

if [[ $# -ne 2 || ( $1 != valid && $1 != invalid ) ]]; then
  echo "usage: $0 valid|invalid FILE" >&2
  exit 1
fi
mode=$1 file=$2
if [[ ! -r $file ]]; then
  echo "FAIL $mode $file: cannot read file"
  exit 1
fi

fail() { # fail REASON [OUTPUT]
  echo "FAIL $mode $file: $1"
  [[ -n ${2:-} ]] && printf '%s\n' "$2" | sed 's/^/  | /'
  exit 1
}

# Header lines of the case file.
mapfile -t expects < <(sed -n 's/^#[[:space:]]*expect:[[:space:]]*//p' "$file" | sed 's/[[:space:]]*$//')
flags=()
while IFS= read -r line; do
  read -r -a words <<<"$line"
  flags+=("${words[@]}")
done < <(sed -n 's/^#[[:space:]]*flags:[[:space:]]*//p' "$file")

if [[ $mode == invalid && ${#expects[@]} -eq 0 ]]; then
  fail "an invalid case needs at least one '# expect: <substring>' line"
fi

ns="weft-crdtest-$(od -An -N5 -tx1 /dev/urandom | tr -d ' \n')"
# shellcheck disable=SC2317  # called by the EXIT trap
cleanup() {
  # Objects first (no finalizers, so they go at once), then the namespace.
  "$kubectl" delete -n "$ns" -f "$file" --ignore-not-found --wait=false >/dev/null 2>&1
  "$kubectl" delete namespace "$ns" --ignore-not-found --wait=false >/dev/null 2>&1
}
if ! out=$("$kubectl" create namespace "$ns" 2>&1); then
  fail "cannot create namespace $ns" "$out"
fi
trap cleanup EXIT

out=$("$kubectl" create -n "$ns" -f "$file" "${flags[@]}" -o name 2>&1)
rc=$?

if [[ $mode == valid ]]; then
  [[ $rc -eq 0 ]] || fail "kubectl create failed (exit $rc)" "$out"
  created=$(printf '%s\n' "$out" | grep -v '^$' | sort)
  [[ -n $created ]] || fail "kubectl create reported no objects" "$out"
  if ! got=$("$kubectl" get -n "$ns" -f "$file" -o name 2>&1); then
    fail "kubectl get of the created objects failed" "$got"
  fi
  got=$(printf '%s\n' "$got" | grep -v '^$' | sort)
  [[ $got == "$created" ]] ||
    fail "kubectl get returned other objects than were created" "created:
$created
got:
$got"
  echo "PASS valid $file ($(wc -l <<<"$created") object(s))"
  exit 0
fi

[[ $rc -ne 0 ]] || fail "kubectl create succeeded but the case must be rejected" "$out"
missing=()
for e in "${expects[@]}"; do
  [[ $out == *"$e"* ]] || missing+=("$e")
done
if [[ ${#missing[@]} -gt 0 ]]; then
  fail "rejected, but not for the expected reason; missing: $(printf '"%s" ' "${missing[@]}")" "$out"
fi
echo "PASS invalid $file"
exit 0
