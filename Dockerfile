# vidflow worker image: `node bin/vidflow.js worker` on compiled JavaScript (dist/), with Debian's
# ffmpeg/ffprobe, production npm dependencies only, running as the unprivileged `node` user.
#
#   docker build -t vidflow-worker .          (or: docker-compose build worker)
#
# One Node tag for every stage, so the native modules installed by `npm ci` (Temporal's core
# bridge, @swc/core used by the SDK's workflow bundler) match the runtime's glibc and Node ABI.
# 20.20.2 is the Node 20 LTS release this repository is developed and tested on (engines: >=20.19).
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# ---- build: full dependency tree (TypeScript, @types) and `tsc` -> dist/ ------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build \
 && test -f dist/client/cli.js \
 && test -f dist/workflows/index.js

# ---- deps: production dependencies only, installed apart so no npm cache reaches the runtime ----
# The worker bundles dist/workflows with webpack at start: @temporalio/worker's bundler packages
# are production dependencies of the SDK, so `--omit=dev` keeps them.
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

# ---- runtime ------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ffmpeg \
 && rm -rf /var/lib/apt/lists/*

# VIDFLOW_DIST=1: bin/vidflow.js runs the compiled dist/ (the image carries no src/).
# The work and output folders are volumes; docker-compose.yml mounts named volumes on them.
# Memory (measured by `npm run bench:load`, which runs the worker with these same settings; see
# docs/production.md): V8's young generation capped at 2 MB per semi-space instead of 16 (each
# isolate, the workflow thread's too, otherwise keeps 32 MB of new space committed); each isolate's
# old space capped at 256 MB, so V8 collects before it grows (it let the main heap reach 180 MB of
# mostly garbage under 300 clips in flight; live it is ~50 MB); one malloc arena for the native
# threads (Temporal Core, libuv): with two, fragmentation kept ~150 MB more under that load. The
# workflow cache holds 200 runs (the SDK would size it from the heap cap: ~36): a run outside it is
# rebuilt from its history at each step, and with 100 runs in flight a third of the steps were;
# a cached run costs ~0.3 MB since the schemas are shared (100 runs cached: 263 MB peak RSS).
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=2 --max-old-space-size=256" \
    MALLOC_ARENA_MAX=1 \
    VIDFLOW_MAX_CACHED_WORKFLOWS=200 \
    VIDFLOW_DIST=1 \
    VIDFLOW_WORK_DIR=/data/work \
    VIDFLOW_OUTPUT_DIR=/data/output

WORKDIR /app
# Application files stay owned by root: the worker can read but not rewrite its own code.
COPY package.json package-lock.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY bin ./bin
COPY --from=build /app/dist ./dist
COPY deploy/worker-healthcheck.sh ./deploy/worker-healthcheck.sh

# A new named volume is seeded from the image's folder, ownership included, so these must be
# created and chowned before VOLUME.
RUN mkdir -p /data/work /data/output /data/telegram \
 && chown -R node:node /data
VOLUME ["/data/work", "/data/output"]

USER node

# Health = "this container can do its job right now", checked cheaply (no Node start-up, no gRPC):
#  - ffprobe runs (every activity that touches media needs ffmpeg/ffprobe and their libraries);
#  - the Temporal frontend at TEMPORAL_ADDRESS accepts a TCP connection from this container.
# That the worker process itself is alive needs no probe: it is the container's main process
# (under `init: true` in compose), so the container stops when it does.
# A gRPC-level check (`temporal operator cluster health`) would need the Temporal CLI in the
# image; the server's own health is checked by compose on the server container instead.
HEALTHCHECK --interval=30s --timeout=10s --start-period=30s --retries=3 \
  CMD ["bash", "/app/deploy/worker-healthcheck.sh"]

# SIGTERM (docker stop / compose stop) makes the Temporal worker stop polling and lets in-flight
# activities finish within its shutdownGraceTime (10 s); compose gives it stop_grace_period: 30s.
CMD ["node", "bin/vidflow.js", "worker"]
