#!/usr/bin/env bash
# The test run: one Temporal dev server for the whole run (on 2 cores the SDK gives a server only
# 5 s to answer, so one per test file is fragile), shared by the test files through
# TEMPORAL_TEST_ADDRESS; then node's test runner over test/**/*.test.ts.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.vidflow/tools/bin:$PATH"

if [ -z "${TEMPORAL_TEST_ADDRESS:-}" ]; then
  port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
  bin=$(node -e 'require("tsx/cjs"); const b=require("./src/client/temporal-binary.ts").findTemporalBinary("cli",{install:true}); if(!b){console.error(require("./src/client/temporal-binary.ts").installHint("cli")); process.exit(1)} console.log(b.path)')
  log=$(mktemp -t vidflow-test-server.XXXX.log)
  "$bin" server start-dev --headless --ip 127.0.0.1 --port "$port" --log-level error \
    --search-attribute VideoStage=Keyword \
    --search-attribute VidflowChat=Keyword \
    --dynamic-config-value frontend.enableUpdateWorkflowExecution=true \
    --dynamic-config-value frontend.enableUpdateWorkflowExecutionAsyncAccepted=true >"$log" 2>&1 &
  server=$!
  trap 'kill $server 2>/dev/null || true; wait $server 2>/dev/null || true' EXIT
  for _ in $(seq 1 100); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null; then break; fi
    sleep 0.2
  done
  export TEMPORAL_TEST_ADDRESS="127.0.0.1:$port"
  echo "test: Temporal dev server on $TEMPORAL_TEST_ADDRESS ($bin)" >&2
fi

mapfile -t files < <(find test -name '*.test.ts' | sort)
if [ $# -gt 0 ]; then files=("$@"); fi
set +e
node --import tsx --test --test-concurrency=1 --test-reporter=spec "${files[@]}"
code=$?
exit $code
