#!/bin/sh
# One-shot job (temporalio/admin-tools image) run by docker-compose once the Temporal server is
# healthy: creates vidflow's namespace and registers the Keyword search attributes: `VideoStage`,
# which the workflow upserts, and `VidflowChat`, the Telegram chat a run started by `vidflow bot`
# belongs to. Idempotent: an existing namespace or attribute is left as it is.
# (The worker also registers VideoStage itself before polling; doing it here as well means the
# attribute exists before any worker starts, and `vidflow start`/list filters work right away.)
set -eu

addr="${TEMPORAL_ADDRESS:-temporal:7233}"
ns="${TEMPORAL_NAMESPACE:-default}"
retention="${TEMPORAL_NAMESPACE_RETENTION:-168h}"
attrs='VideoStage VidflowChat'

# Talk to the frontend by IPv4 address when the name resolves to one: the CLI may otherwise try
# an address family the container network does not route.
host="${addr%:*}"
port="${addr##*:}"
if command -v getent >/dev/null 2>&1; then
  ip=$(getent ahostsv4 "$host" 2>/dev/null | awk 'NR == 1 { print $1 }')
  if [ -n "$ip" ]; then
    addr="$ip:$port"
  fi
fi

say() { echo "create-namespace: $*"; }

attempt=1
until temporal operator cluster health --address "$addr" 2>/dev/null | grep -q SERVING; do
  if [ "$attempt" -ge 60 ]; then
    say "Temporal at $addr is not serving after $attempt attempts" >&2
    exit 1
  fi
  say "waiting for Temporal at $addr (attempt $attempt)"
  attempt=$((attempt + 1))
  sleep 2
done

if temporal operator namespace describe --address "$addr" --namespace "$ns" >/dev/null 2>&1; then
  say "namespace $ns already exists"
else
  say "creating namespace $ns (retention $retention)"
  if ! out=$(temporal operator namespace create --address "$addr" --namespace "$ns" --retention "$retention" \
    --description "vidflow" 2>&1); then
    case "$out" in
      *"already exists"* | *"already registered"*) say "namespace $ns already exists" ;;
      *)
        echo "$out" >&2
        exit 1
        ;;
    esac
  fi
fi

# A new namespace reaches the frontend's namespace cache a few seconds after it is created.
attempt=1
until list=$(temporal operator search-attribute list --address "$addr" --namespace "$ns" 2>&1); do
  if [ "$attempt" -ge 30 ]; then
    say "namespace $ns is not usable after $attempt attempts:" >&2
    echo "$list" >&2
    exit 1
  fi
  say "waiting for namespace $ns to be usable (attempt $attempt)"
  attempt=$((attempt + 1))
  sleep 2
done

for attr in $attrs; do
  if printf '%s\n' "$list" | grep -qw "$attr"; then
    say "search attribute $attr already registered in $ns"
  elif out=$(temporal operator search-attribute create --address "$addr" --namespace "$ns" --name "$attr" \
    --type Keyword 2>&1); then
    say "registered search attribute $attr (Keyword) in $ns"
  else
    case "$out" in
      *"already exists"*) say "search attribute $attr already registered in $ns" ;;
      *)
        echo "$out" >&2
        exit 1
        ;;
    esac
  fi
done
say "done"
