# Shared by the scripts in this folder: tool checks and the site build.
# Source it; it changes to the repository root.

set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

WASM_BINDGEN_VERSION=0.2.130
# The splitter of the browser bundle into a chunk per page; its format must
# match leptos' wasm_split_helpers (0.2.x in Cargo.lock).
WASM_SPLIT_VERSION=0.2.3
TARGET_DIR=${CARGO_TARGET_DIR:-target}
SITE_ROOT=${KEYWARDEN_SITE_ROOT:-target/site}
export KEYWARDEN_SITE_ROOT=$SITE_ROOT

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }

# The wasm target and the wasm-bindgen CLI at exactly the version Cargo.lock
# pins (the CLI and the library must match). Nothing is downloaded from
# outside the package registries.
ensure_build_tools() {
  if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
    say "adding the wasm32-unknown-unknown target"
    rustup target add wasm32-unknown-unknown
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null)" != "wasm-bindgen $WASM_BINDGEN_VERSION" ]; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION (about 4 minutes, once)"
    # Its own lock file names a crate version the registry lacks: resolve anew.
    CARGO_RESOLVER_INCOMPATIBLE_RUST_VERSIONS=fallback \
      cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force
  fi
  if ! cargo install --list | grep -qx "wasm_split_cli_support v$WASM_SPLIT_VERSION:"; then
    say "installing wasm-split-cli $WASM_SPLIT_VERSION (under a minute, once)"
    cargo install wasm_split_cli_support --version "$WASM_SPLIT_VERSION" \
      --features build-binary --locked --force
  fi
}

# Builds the browser bundle into $SITE_ROOT and the server binary.
# $1: "debug" (default) or "release".
# wasm-opt from npm's binaryen 132, never Debian's binaryen (its wasm-opt
# makes a bundle that never hydrates: docs/operations.md). Sets $WASM_OPT.
ensure_wasm_opt() {
  local dir="$HOME/.cache/keywarden/binaryen-132.0.0"
  WASM_OPT="$dir/node_modules/.bin/wasm-opt"
  if [ ! -x "$WASM_OPT" ]; then
    say "installing wasm-opt (npm binaryen@132.0.0)"
    npm install --silent --no-audit --no-fund --prefix "$dir" binaryen@132.0.0
  fi
}

build_site() {
  local profile=${1:-debug}
  local wasm_flags=() server_flags=() bindgen_flags=() wasm_dir=debug server_dir=debug
  if [ "$profile" = release ]; then
    wasm_flags=(--profile wasm-release); wasm_dir=wasm-release
    server_flags=(--release); server_dir=release
    # Function names are 60% of the file and only help debugging.
    bindgen_flags=(--remove-name-section --remove-producers-section)
  fi
  say "building the browser bundle ($profile)"
  cargo build -p frontend --lib --target wasm32-unknown-unknown "${wasm_flags[@]}"
  rm -rf "$SITE_ROOT/pkg"
  mkdir -p "$SITE_ROOT/pkg"
  # One chunk per lazily loaded page (app/src/routes.rs) beside the main
  # module, which wasm-bindgen then binds; the chunks load through the
  # __wasm_split.js it writes.
  wasm-split-cli --out-name keywarden \
    "$TARGET_DIR/wasm32-unknown-unknown/$wasm_dir/frontend.wasm" "$SITE_ROOT/pkg"
  wasm-bindgen --target web --no-typescript --out-name keywarden "${bindgen_flags[@]}" \
    --keep-lld-exports --no-demangle --out-dir "$SITE_ROOT/pkg" "$SITE_ROOT/pkg/keywarden.wasm"
  # Leptos loads /pkg/<output-name>.wasm when the name is set at build time.
  mv -f "$SITE_ROOT/pkg/keywarden_bg.wasm" "$SITE_ROOT/pkg/keywarden.wasm"
  if [ "$profile" = release ]; then
    ensure_wasm_opt
    for wasm in "$SITE_ROOT"/pkg/*.wasm; do
      "$WASM_OPT" -Oz --enable-bulk-memory --enable-nontrapping-float-to-int --enable-sign-ext \
        --enable-mutable-globals --enable-reference-types --enable-multivalue -o "$wasm" "$wasm"
    done
  fi
  cp style/main.css "$SITE_ROOT/pkg/keywarden.css"
  cp -R public/. "$SITE_ROOT/"
  if [ "$profile" = release ]; then
    # Served as they are (also from inside the binary): compressed once at
    # the highest levels rather than per request at a fast one.
    node scripts/precompress.js "$SITE_ROOT"/pkg/*.{wasm,js,css}
  fi
  say "building the server ($profile)"
  cargo build -p server --bin keywarden "${server_flags[@]}"
  KEYWARDEN_BIN="$TARGET_DIR/$server_dir/keywarden"
  export KEYWARDEN_BIN
}

# A PostgreSQL for the test suite: $KEYWARDEN_TEST_POSTGRES_URL if set, or a
# local server from Debian's packages (installed and started when missing).
ensure_postgres() {
  if [ -n "${KEYWARDEN_TEST_POSTGRES_URL:-}" ]; then drop_test_databases; return; fi
  if ! ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1; then
    say "installing PostgreSQL from Debian's packages"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends postgresql >/dev/null
  fi
  local version
  version=$(ls /usr/lib/postgresql | sort -n | tail -n 1)
  if ! pg_lsclusters -h 2>/dev/null | awk '{print $1" "$2}' | grep -qx "$version main"; then
    as_root pg_createcluster "$version" main >/dev/null
  fi
  if ! pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $4}' | grep -qx online; then
    say "starting PostgreSQL $version"
    as_root pg_ctlcluster "$version" main start
  fi
  local port
  port=$(pg_lsclusters -h | awk -v v="$version" '$1==v && $2=="main" {print $3}')
  as_postgres psql -q -p "$port" -c "DO \$\$ BEGIN
      IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'keywarden') THEN
        CREATE ROLE keywarden LOGIN PASSWORD 'keywarden' CREATEDB;
      END IF; END \$\$;" >/dev/null
  if ! as_postgres psql -p "$port" -tAc "SELECT 1 FROM pg_database WHERE datname = 'keywarden_test'" | grep -q 1; then
    as_postgres createdb -p "$port" -O keywarden keywarden_test
  fi
  export KEYWARDEN_TEST_POSTGRES_URL="postgres://keywarden:keywarden@127.0.0.1:$port/keywarden_test"
  drop_test_databases
}

# Each PostgreSQL test makes its own database (kw_test_…); those of earlier
# runs are dropped here, or a machine that runs the suite daily fills its disk.
drop_test_databases() {
  command -v psql >/dev/null || return 0
  local left
  # Only databases nobody is connected to: another run's are left alone.
  local idle="FROM pg_database d WHERE d.datname LIKE 'kw\_test\_%'
    AND NOT EXISTS (SELECT 1 FROM pg_stat_activity a WHERE a.datname = d.datname)"
  left=$(psql "$KEYWARDEN_TEST_POSTGRES_URL" -tAc "SELECT count(*) $idle")
  if [ "${left:-0}" -gt 0 ]; then
    say "dropping $left test databases of earlier runs"
    psql "$KEYWARDEN_TEST_POSTGRES_URL" -q >/dev/null <<SQL
SELECT format('DROP DATABASE IF EXISTS %I', d.datname) $idle \gexec
SQL
  fi
  # The SQLite tests' files, likewise.
  find "${TMPDIR:-/tmp}" -maxdepth 1 -name 'keywarden-test-*' -mmin +60 -exec rm -rf {} + 2>/dev/null || true
}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { if [ "$(id -u)" = 0 ]; then su postgres -c "$(printf '%q ' "$@")"; else sudo -u postgres "$@"; fi; }

# Debian's Chromium and the Playwright package (its own browser download
# cannot work here, so it is skipped).
ensure_browser_tools() {
  if [ ! -x /usr/bin/chromium ]; then
    say "installing Chromium from Debian's packages"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends chromium >/dev/null
  fi
  # Installed anew whenever the lock file changed since the last install.
  local stamp=end2end/node_modules/.keywarden-lock
  if [ ! -f "$stamp" ] || ! cmp -s end2end/package-lock.json "$stamp"; then
    say "installing Playwright, Redocly CLI and the OpenAPI client tools (npm)"
    (cd end2end && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund)
    cp end2end/package-lock.json "$stamp"
  fi
}

# The OpenAPI document as a real instance (the built $KEYWARDEN_BIN, on a
# throwaway SQLite file) serves it, written to $1.
fetch_openapi() {
  local out=$1 port=${OPENAPI_PORT:-3299} work pid
  work=$(mktemp -d)
  "$KEYWARDEN_BIN" --addr "127.0.0.1:$port" --database-url "sqlite://$work/kw.db" \
    --site-root "$SITE_ROOT" >"$work/log" 2>&1 &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break; sleep 0.1; done
  mkdir -p "$(dirname "$out")"
  curl -sf "http://127.0.0.1:$port/v1/openapi.json" -o "$out" || { cat "$work/log" >&2; kill "$pid"; return 1; }
  kill "$pid"; wait "$pid" 2>/dev/null || true
  rm -rf "$work"
}

# nginx from Debian's packages, for the forward-auth test behind a real proxy
# (the test starts its own instance; the packaged service is left stopped).
ensure_nginx() {
  if [ ! -x /usr/sbin/nginx ]; then
    say "installing nginx from Debian's packages"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends nginx-light >/dev/null
  fi
}

# perf from Debian's packages, for the benchmark's profile (BENCH_PROFILE).
ensure_perf() {
  if ! command -v perf >/dev/null; then
    say "installing perf from Debian's packages"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends linux-perf >/dev/null
  fi
}

# wrk from Debian's packages, the benchmark's load generator.
ensure_wrk() {
  if ! command -v wrk >/dev/null; then
    say "installing wrk from Debian's packages"
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends wrk >/dev/null
  fi
}
