#!/usr/bin/env bash
# A rehearsal of docker-compose.yml's Temporal side without Docker (no engine runs on the
# development machines or CI): each piece the compose file runs, for real, on this machine.
#
#   1. PostgreSQL (Debian's package) in a throwaway cluster, user/password as in the compose file.
#   2. deploy/temporal/setup-schema.sh with temporal-sql-tool of the server release pinned in
#      docker-compose.yml, built from the Go module proxy; run twice (it must be idempotent).
#   3. That Temporal server release on PostgreSQL (the module's development-postgres12.yaml, moved
#      to free ports) with deploy/temporal/dynamicconfig.
#   4. deploy/temporal/create-namespace.sh against it; run twice.
#   5. vidflow on it: `vidflow run --yes` (offline emulators, in-process worker) to a finished video;
#      then a worker run as the image runs it (dist/, production dependencies only, user nobody,
#      JSON logs) and an auto-approved run, the Temporal server SIGKILLed while the clips are
#      generating and started again on the same database: the run completes, with one
#      prediction per scene.
#
# Not covered: the images themselves (base image, tags, entrypoints, health checks) and MinIO.
# Needs: go, apt-get (as root) or PostgreSQL already installed, and `bash scripts/setup.sh` done.
# The first run builds the server (several minutes on 2 cores); builds are cached in .vidflow/go.
# Usage: bash scripts/rehearse-production.sh
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
say() { echo "rehearse: $*" >&2; }
export PATH="$ROOT/.vidflow/tools/bin:$PATH"

version=$(sed -n 's/^ *image: temporalio\/server:\([0-9.]*\).*/\1/p' docker-compose.yml | head -1)
[ -n "$version" ] || { say "no temporalio/server:<version> in docker-compose.yml"; exit 1; }
say "Temporal server $version (pinned in docker-compose.yml)"

# --- tools ----------------------------------------------------------------------------------
command -v go >/dev/null || { say "go is needed to build the Temporal server (https://go.dev/dl/)"; exit 1; }
GOBIN_DIR="$ROOT/.vidflow/go/$version/bin"
mkdir -p "$GOBIN_DIR"
for tool in tools/sql server; do
  name=$([ "$tool" = server ] && echo temporal-server || echo temporal-sql-tool)
  if [ ! -x "$GOBIN_DIR/$name" ]; then
    say "building $name $version from the Go module proxy (go install go.temporal.io/server/cmd/$tool)"
    GOBIN="$GOBIN_DIR" go install "go.temporal.io/server/cmd/$tool@v$version"
    mv "$GOBIN_DIR/$(basename "$tool")" "$GOBIN_DIR/$name"
  fi
done
export PATH="$GOBIN_DIR:$PATH"
MODULE="$(go env GOMODCACHE)/go.temporal.io/server@v$version"

PGBIN=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$PGBIN" ]; then
  [ "$(id -u)" = 0 ] || { say "PostgreSQL is missing: apt-get install -y postgresql"; exit 1; }
  say "installing PostgreSQL (apt-get install -y postgresql)"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  PGBIN=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
fi

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_port() {
  for _ in $(seq 1 150); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$1") 2>/dev/null; then return 0; fi
    sleep 0.2
  done
  return 1
}

WORK=$(mktemp -d -t vidflow-rehearse.XXXX)
chmod 755 "$WORK"
pids=()
cleanup() {
  local code=$?
  if [ "$code" != 0 ] && [ -f "$WORK/server.log" ]; then
    say "failed (exit $code); the Temporal server's last log lines:"
    tail -15 "$WORK/server.log" >&2
  fi
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  pkill -u nobody -f 'bin/vidflow.js worker' 2>/dev/null || true
  sleep 1
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done # runuser may outlive its child
  [ -n "${server_pid:-}" ] && kill "$server_pid" 2>/dev/null || true
  if [ -d "$WORK/pg" ]; then runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg" -m immediate stop >/dev/null 2>&1 || true; fi
  rm -rf "$WORK"
}
trap cleanup EXIT

# --- 1. PostgreSQL --------------------------------------------------------------------------
PGPORT=$(free_port)
mkdir -p "$WORK/pg" && chown postgres "$WORK/pg"
runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/pg" -U postgres --auth=trust >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/pg" -o "-p $PGPORT -k $WORK/pg -c listen_addresses=127.0.0.1" \
  -l "$WORK/pg/log" -w start >/dev/null
"$PGBIN/psql" -h 127.0.0.1 -p "$PGPORT" -U postgres -qc "CREATE ROLE temporal LOGIN SUPERUSER PASSWORD 'temporal'"
say "PostgreSQL $("$PGBIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PGPORT"

# --- 2. schema, twice -----------------------------------------------------------------------
for pass in 1 2; do
  say "setup-schema.sh, pass $pass"
  POSTGRES_SEEDS=127.0.0.1 DB_PORT=$PGPORT POSTGRES_USER=temporal POSTGRES_PWD=temporal \
    TEMPORAL_SCHEMA_ROOT="$MODULE/schema/postgresql/v12" sh deploy/temporal/setup-schema.sh 2>&1 |
    grep -E '^setup-schema:' >&2
done

# --- 3. the server ----------------------------------------------------------------------------
FRONTEND=$(free_port)
mkdir -p "$WORK/config/dynamicconfig"
cp deploy/temporal/dynamicconfig/vidflow.yaml "$WORK/config/dynamicconfig/vidflow.yaml"
# The module's development config with every port moved off the defaults (a dev server may hold 7233).
# Below 32768: the server stores membership ports in a smallint column (a larger one is fatal at start).
base=$((20000 + RANDOM % 12000))
sed -e "s/127.0.0.1:5432/127.0.0.1:$PGPORT/" \
  -e "s/grpcPort: 7233/grpcPort: $FRONTEND/" -e "s/localhost:7233/127.0.0.1:$FRONTEND/" \
  -e "s/httpPort: 7243/httpPort: $((base + 9))/" \
  -e "s/grpcPort: 7234/grpcPort: $((base + 1))/" -e "s/grpcPort: 7235/grpcPort: $((base + 2))/" \
  -e "s/grpcPort: 7239/grpcPort: $((base + 3))/" \
  -e "s/membershipPort: 6933/membershipPort: $((base + 4))/" -e "s/membershipPort: 6934/membershipPort: $((base + 5))/" \
  -e "s/membershipPort: 6935/membershipPort: $((base + 6))/" -e "s/membershipPort: 6939/membershipPort: $((base + 7))/" \
  -e "s/port: 7936/port: 0/" -e "s/127.0.0.1:8000/127.0.0.1:$((base + 8))/" \
  -e "s/level: info/level: warn/" \
  -e "s#config/dynamicconfig/development-sql.yaml#$WORK/config/dynamicconfig/vidflow.yaml#" \
  "$MODULE/config/development-postgres12.yaml" >"$WORK/config/rehearsal.yaml"

start_server() {
  temporal-server --root "$WORK" --config config --env rehearsal --allow-no-auth start >>"$WORK/server.log" 2>&1 &
  server_pid=$!
  wait_port "$FRONTEND" || { say "the server did not listen; its log:"; tail -30 "$WORK/server.log" >&2; exit 1; }
}
start_server
export TEMPORAL_ADDRESS=127.0.0.1:$FRONTEND
say "Temporal server $version on PostgreSQL, frontend $TEMPORAL_ADDRESS"

# --- 4. namespace and search attribute, twice -------------------------------------------------
for pass in 1 2; do
  say "create-namespace.sh, pass $pass"
  TEMPORAL_NAMESPACE=default sh deploy/temporal/create-namespace.sh >&2
done

# --- 5a. a whole run, offline ------------------------------------------------------------------
unset REPLICATE_API_TOKEN OPENAI_API_KEY
out="$WORK/out"
say "vidflow run (offline emulators, in-process worker) on this server"
VIDFLOW_OUTPUT_DIR="$out" VIDFLOW_WORK_DIR="$WORK/work-a" HOME="$WORK" \
  node bin/vidflow.js run "a beautiful sunset over the sea" --yes >"$WORK/run-a.out" 2>"$WORK/run-a.err" ||
  { say "vidflow run failed:"; tail -20 "$WORK/run-a.err" >&2; exit 1; }
video=$(tail -1 "$WORK/run-a.out")
seconds=$(ffprobe -v error -show_entries format=duration -of csv=p=0 "$video")
say "video $video: $seconds s"

# --- 5b. the server killed mid-generation -----------------------------------------------------
# Emulated generations take 8 s, so the kill lands while all three are processing.
node --import tsx src/emulators/main.ts --port 0 --config '{"replicate":{"startingMs":500,"processingMs":8000}}' \
  >"$WORK/emu.json" 2>"$WORK/emu.log" &
pids+=($!)
for _ in $(seq 1 100); do [ -s "$WORK/emu.json" ] && break; sleep 0.2; done
emu=$(head -1 "$WORK/emu.json")
url() { node -e "console.log(JSON.parse(process.argv[1]).$1)" "$emu"; }
export OPENAI_API_KEY=sk-rehearsal OPENAI_BASE_URL=$(url openaiBaseUrl)
export REPLICATE_API_TOKEN=r8_rehearsal REPLICATE_BASE_URL=$(url replicateBaseUrl)
# This worker runs as the image runs it (Dockerfile): compiled dist/, production dependencies only,
# an unprivileged user, the image's ENV, JSON logs as compose sets them.
say "worker as the image runs it: npm run build, npm ci --omit=dev, user nobody"
npm run build >"$WORK/build.log" 2>&1 || { say "npm run build failed:"; tail -20 "$WORK/build.log" >&2; exit 1; }
APP="$WORK/app"
mkdir -p "$APP" "$WORK/data/work" "$WORK/data/output"
cp package.json package-lock.json "$APP/"
(cd "$APP" && npm ci --omit=dev --no-audit --no-fund >"$WORK/npm-ci.log" 2>&1) ||
  { say "npm ci --omit=dev failed:"; tail -20 "$WORK/npm-ci.log" >&2; exit 1; }
cp -r bin dist "$APP/"
chown -R nobody "$WORK/data"
(cd "$APP" && exec runuser -u nobody -- env -i PATH=/usr/bin:/bin HOME=/nonexistent \
  NODE_ENV=production NODE_OPTIONS='--max-semi-space-size=2 --max-old-space-size=256' MALLOC_ARENA_MAX=1 VIDFLOW_DIST=1 LOG_FORMAT=json \
  VIDFLOW_WORK_DIR="$WORK/data/work" VIDFLOW_OUTPUT_DIR="$WORK/data/output" VIDFLOW_POLL_INTERVAL_MS=300 \
  TEMPORAL_ADDRESS="$TEMPORAL_ADDRESS" OPENAI_API_KEY="$OPENAI_API_KEY" OPENAI_BASE_URL="$OPENAI_BASE_URL" \
  REPLICATE_API_TOKEN="$REPLICATE_API_TOKEN" REPLICATE_BASE_URL="$REPLICATE_BASE_URL" \
  node bin/vidflow.js worker) >"$WORK/worker.log" 2>&1 &
pids+=($!)
export HOME="$WORK"
for _ in $(seq 1 150); do grep -q 'worker: polling' "$WORK/worker.log" && break; sleep 0.2; done
id=$(node bin/vidflow.js start "waves on a beach at dawn" --auto-approve --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).workflowId))')
for _ in $(seq 1 150); do
  [ "$(curl -s "$(url controlUrl)/state" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).replicate.predictionsCreated))')" = 3 ] && break
  sleep 0.2
done
say "run $id: 3 predictions processing; SIGKILL to the Temporal server"
kill -KILL "$server_pid"
wait "$server_pid" 2>/dev/null || true
sleep 3
start_server
say "server started again on the same database"
result=$(node bin/vidflow.js result "$id" --json)
created=$(curl -s "$(url controlUrl)/state" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).replicate.predictionsCreated))')
say "run $id completed: $result"
say "predictions created: $created for 3 scenes"
[ "$created" = 3 ] || { say "FAIL: a clip was paid for twice"; exit 1; }
if grep -qv '^{' "$WORK/worker.log"; then
  say "FAIL: the worker (LOG_FORMAT=json) wrote a line that is not JSON:"
  grep -v '^{' "$WORK/worker.log" | head -3 >&2
  exit 1
fi
say "worker log: $(wc -l <"$WORK/worker.log") lines, all JSON; worker id $(cat "$WORK/data/work/.worker-id") kept in its work folder"
say "PASS: schema (twice), server $version on PostgreSQL, namespace (twice), an offline run, a run across a server SIGKILL"
