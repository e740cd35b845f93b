#!/usr/bin/env bash
# Docker HEALTHCHECK of the vidflow worker image (see the Dockerfile for why these two checks).
# Exit 0 = healthy. Cheap on purpose: one ffprobe exec and one TCP connect, no Node start-up.
set -uo pipefail

if ! ffprobe -hide_banner -version >/dev/null 2>&1; then
  echo "unhealthy: ffprobe does not run"
  exit 1
fi

addr="${TEMPORAL_ADDRESS:-localhost:7233}"
host="${addr%:*}"
port="${addr##*:}"
host="${host#[}"
host="${host%]}"
if [ -z "$host" ] || [ "$host" = "$addr" ] || [ -z "$port" ]; then
  echo "unhealthy: TEMPORAL_ADDRESS '$addr' is not host:port"
  exit 1
fi

# bash's /dev/tcp: a plain TCP connect, closed right away.
if ! timeout 5 bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$host" "$port" 2>/dev/null; then
  echo "unhealthy: Temporal frontend $addr does not accept connections"
  exit 1
fi
echo "healthy: ffprobe runs; $addr answers"
