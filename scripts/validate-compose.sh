#!/usr/bin/env bash
# Validates docker-compose.yml with Debian's docker-compose (1.29), as .ci/run does on a fresh
# machine. No Docker engine is needed: `docker-compose config` only parses, interpolates and
# checks the file against the compose schema.
#   - installs docker-compose with apt-get when it is missing and we are root;
#   - when it cannot be installed (not root, no apt-get, no network), prints a notice and exits 0;
#   - validates twice: here (with this checkout's .env, if any, as `docker-compose up` would read
#     it) and in a clean copy without .env, so the defaults alone must make a valid file;
#   - also syntax-checks the helper scripts the compose file and the image run;
#   - exits non-zero when anything is invalid.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "validate-compose: $*" >&2; }

if ! command -v docker-compose >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing docker-compose (apt-get install -y docker-compose)"
    if ! { apt-get update -qq >/dev/null &&
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-compose >/dev/null; }; then
      say "notice: could not install docker-compose; docker-compose.yml NOT validated"
      exit 0
    fi
  else
    say "notice: docker-compose is missing and cannot be installed here (needs root and apt-get); docker-compose.yml NOT validated"
    exit 0
  fi
fi

for f in deploy/temporal/*.sh; do
  sh -n "$f" || { say "$f: shell syntax error"; exit 1; }
done
bash -n deploy/worker-healthcheck.sh || { say "deploy/worker-healthcheck.sh: shell syntax error"; exit 1; }

# 1) As it will be used in this checkout.
docker-compose -f docker-compose.yml config --quiet

# 2) On a clean checkout: no .env, only what the compose file refers to.
clean=$(mktemp -d)
trap 'rm -rf "$clean"' EXIT
cp docker-compose.yml Dockerfile "$clean"/
cp -R deploy "$clean"/
(cd "$clean" && env -u OPENAI_API_KEY -u REPLICATE_API_TOKEN -u POSTGRES_PASSWORD \
  docker-compose -f docker-compose.yml config --quiet)

echo "docker-compose.yml: valid"
