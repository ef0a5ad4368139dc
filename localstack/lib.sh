# Shared shell helpers for the local stack and the test runner. Source it; do not run it.
#
# Everything here reaches AWS through AWS_ENDPOINT_URL. With moto (the default, no Docker
# needed) we install and start the emulator ourselves; with real LocalStack, start it yourself
# and set PULSE_EMULATOR=external AWS_ENDPOINT_URL=http://localhost:4566 (see localstack/README.md).

PULSE_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export PULSE_VENV="${PULSE_VENV:-$PULSE_ROOT/.venv}"
# Pinned: upgrade deliberately, after running ./tests/run against the new version.
MOTO_VERSION="5.2.5"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Dummy credentials and a region: emulators accept any, and no real account is ever touched
# because every call goes to AWS_ENDPOINT_URL.
emulator_env() {
  export AWS_ACCESS_KEY_ID="${AWS_ACCESS_KEY_ID:-test}"
  export AWS_SECRET_ACCESS_KEY="${AWS_SECRET_ACCESS_KEY:-test}"
  export AWS_REGION="${AWS_REGION:-us-east-1}"
  export AWS_DEFAULT_REGION="$AWS_REGION"
  export AWS_EC2_METADATA_DISABLED=true
}

# Create the virtualenv and install the pinned moto server into it (once).
ensure_moto() {
  if [ -x "$PULSE_VENV/bin/moto_server" ] && "$PULSE_VENV/bin/python" -c "import moto,sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    return 0
  fi
  command -v python3 >/dev/null || die "python3 is required to run the moto emulator"
  log "installing moto[server]==$MOTO_VERSION into $PULSE_VENV"
  python3 -m venv "$PULSE_VENV" || die "could not create a virtualenv at $PULSE_VENV"
  "$PULSE_VENV/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" \
    || die "pip could not install moto[server]==$MOTO_VERSION"
}

# The Lambda toolchain `pulse infra package` builds zips with, both from PyPI. Pinned after a
# check (./tests/run builds a real zip with them): zig 0.15.1 cross-links aws-lc-sys for
# provided.al2023; zig 0.16's `ar` cannot create archives (aws/aws-lc-rs#993).
CARGO_LAMBDA_VERSION="1.9.2"
ZIG_VERSION="0.15.1"

# Install cargo-lambda and zig into the virtualenv (once).
ensure_lambda_toolchain() {
  if [ -x "$PULSE_VENV/bin/cargo-lambda" ] && "$PULSE_VENV/bin/python" -c "
import importlib.metadata as m, sys
sys.exit(m.version('cargo-lambda') != '$CARGO_LAMBDA_VERSION' or m.version('ziglang') != '$ZIG_VERSION')" 2>/dev/null; then
    return 0
  fi
  command -v python3 >/dev/null || die "python3 is required to install cargo-lambda and zig"
  log "installing cargo-lambda==$CARGO_LAMBDA_VERSION and ziglang==$ZIG_VERSION into $PULSE_VENV"
  [ -x "$PULSE_VENV/bin/pip" ] || python3 -m venv "$PULSE_VENV" || die "could not create a virtualenv at $PULSE_VENV"
  "$PULSE_VENV/bin/pip" install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION" "ziglang==$ZIG_VERSION" \
    || die "pip could not install cargo-lambda==$CARGO_LAMBDA_VERSION ziglang==$ZIG_VERSION"
}

# What the local Slack page's browser tests and screenshots need (tests/browser/): Debian's
# chromium and an emoji font (so screenshots show emoji) from apt-get, node and npm (apt-get too
# when missing), and playwright-core at the version tests/browser/package-lock.json pins (npm ci).
# No browser is downloaded: playwright-core drives /usr/bin/chromium.
ensure_browser() {
  local missing=()
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  fc-list 2>/dev/null | grep -qi 'Noto Color Emoji' || missing+=(fonts-noto-color-emoji)
  command -v node >/dev/null || missing+=(nodejs)
  command -v npm >/dev/null || missing+=(npm)
  if [ "${#missing[@]}" -gt 0 ]; then
    local sudo=()
    [ "$(id -u)" = 0 ] || sudo=(sudo)
    command -v apt-get >/dev/null || die "the browser tests need ${missing[*]}: install them (Debian: apt-get install ${missing[*]})"
    log "installing ${missing[*]} (apt-get)"
    "${sudo[@]}" apt-get update -qq >/dev/null || die "apt-get update failed"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
      || die "apt-get could not install ${missing[*]}"
  fi
  local dir="$PULSE_ROOT/tests/browser"
  if [ ! -f "$dir/node_modules/playwright-core/package.json" ] || [ "$dir/package-lock.json" -nt "$dir/node_modules/.package-lock.json" ]; then
    log "installing playwright-core (npm ci in tests/browser)"
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) || die "npm ci failed in $dir"
  fi
}

# Build every Pulse binary, with PULSE_CARGO_FEATURES when set. `--examples` is there for its
# side effect: examples may use dev-dependencies, so cargo resolves features as it does for the
# test suite, and the test runner then reuses these very artifacts. A plain `cargo build --bins`
# resolves without dev-dependencies, and the AWS SDK crates (which dev-dependencies build with
# more features) were compiled twice: minutes of CI and gigabytes of target directory.
build_pulse() {
  local features=()
  [ -n "${PULSE_CARGO_FEATURES:-}" ] && features=(--features "$PULSE_CARGO_FEATURES")
  cargo build --workspace --bins --examples ${features[@]+"${features[@]}"}
}

# A free TCP port on loopback.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# Wait until an HTTP server answers on a URL (any status), up to $2 seconds.
wait_http() {
  local url="$1" timeout="${2:-30}"
  python3 - "$url" "$timeout" <<'PY' || return 1
import sys, time, urllib.request, urllib.error
url, deadline = sys.argv[1], time.time() + float(sys.argv[2])
while time.time() < deadline:
    try:
        urllib.request.urlopen(url, timeout=2); sys.exit(0)
    except urllib.error.HTTPError:
        sys.exit(0)
    except Exception:
        time.sleep(0.2)
sys.exit(1)
PY
}

# Start moto on 127.0.0.1:$1, logging to $2; sets MOTO_PID and exports AWS_ENDPOINT_URL.
start_moto() {
  local port="$1" logfile="$2"
  ensure_moto
  # moto_server.py: moto's own server with atomic conditional writes (see the file).
  "$PULSE_VENV/bin/python" "$PULSE_ROOT/localstack/moto_server.py" -H 127.0.0.1 -p "$port" >"$logfile" 2>&1 &
  MOTO_PID=$!
  export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
  wait_http "$AWS_ENDPOINT_URL/moto-api/" 60 || { tail -20 "$logfile" >&2; die "moto did not start on port $port (log: $logfile)"; }
  log "moto $MOTO_VERSION listening on $AWS_ENDPOINT_URL"
}

# Use the emulator named by PULSE_EMULATOR: `moto` (default, started here) or `external`
# (AWS_ENDPOINT_URL already points at a running LocalStack or moto).
start_emulator() {
  local port="$1" logfile="$2"
  emulator_env
  case "${PULSE_EMULATOR:-moto}" in
    moto) start_moto "$port" "$logfile" ;;
    external)
      [ -n "${AWS_ENDPOINT_URL:-}" ] || die "PULSE_EMULATOR=external needs AWS_ENDPOINT_URL"
      wait_http "$AWS_ENDPOINT_URL" 30 || die "nothing answers at $AWS_ENDPOINT_URL"
      log "using the emulator at $AWS_ENDPOINT_URL" ;;
    *) die "PULSE_EMULATOR must be moto or external" ;;
  esac
}
