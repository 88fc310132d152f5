#!/usr/bin/env bash
# BRun.Diagnostics: the two commands.
#   ./brun.sh run    install what is missing, start Postgres + Azurite (data under .data/), migrate, serve http://127.0.0.1:5080
#   ./brun.sh test   install what is missing, then run every test (tests start their own throwaway Postgres + Azurite)
# Other sub-commands (used by the two above, handy by hand): deps, services, stop-services, brun ARGS...
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
DATA="${BRUN_DATA_DIR:-$ROOT/.data}"
TOOLS="$ROOT/.tools"
PG_PORT="${BRUN_PG_PORT:-54329}"
AZURITE_PORT="${BRUN_AZURITE_PORT:-10100}"
WEB_URL="${BRUN_WEB_URL:-http://127.0.0.1:5080}"
AZURITE_VERSION="3.37.0"
AZURITE_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

log() { printf '[brun] %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

apt_install() {
  log "installing Debian packages: $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

pg_bin() {
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [ -z "$dir" ] || [ ! -x "$dir/initdb" ]; then
    apt_install postgresql >&2
    dir=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  echo "$dir"
}

ensure_azurite() {
  if [ ! -x "$TOOLS/node_modules/.bin/azurite-blob" ]; then
    command -v npm >/dev/null || apt_install nodejs npm
    log "installing azurite@$AZURITE_VERSION with npm (about 25 s)"
    mkdir -p "$TOOLS"
    (cd "$TOOLS" && npm install --silent --no-audit --no-fund --prefix "$TOOLS" "azurite@$AZURITE_VERSION" >/dev/null)
  fi
}

ensure_chromium() {
  if [ "${BRUN_SKIP_BROWSER:-}" != "1" ] && ! command -v chromium >/dev/null; then
    apt_install chromium
  fi
}

deps() {
  command -v dotnet >/dev/null || { log "the .NET 10 SDK is required (dotnet on PATH)"; exit 2; }
  export BRUN_PG_BIN; BRUN_PG_BIN="$(pg_bin)"
  ensure_azurite
  export BRUN_AZURITE_BIN="$TOOLS/node_modules/.bin/azurite-blob"
}

# Runs a command as the postgres OS user when we are root (initdb refuses root), else as ourselves.
as_pg() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

start_postgres() {
  local pgdata="$DATA/pg"
  mkdir -p "$DATA"
  if [ ! -f "$pgdata/PG_VERSION" ]; then
    log "creating the local Postgres cluster in $pgdata"
    mkdir -p "$pgdata"
    [ "$(id -u)" -eq 0 ] && chown -R postgres:postgres "$pgdata" && chmod 755 "$DATA"
    as_pg "$BRUN_PG_BIN/initdb" -D "$pgdata" -U postgres --auth=trust -E UTF8 --no-locale >/dev/null
  fi
  if ! as_pg "$BRUN_PG_BIN/pg_ctl" -D "$pgdata" status >/dev/null 2>&1; then
    log "starting Postgres on 127.0.0.1:$PG_PORT"
    as_pg "$BRUN_PG_BIN/pg_ctl" -D "$pgdata" -l "$pgdata/server.log" -w \
      -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $pgdata" start >/dev/null
  fi
  as_pg "$BRUN_PG_BIN/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname = 'brun'" | grep -q 1 \
    || as_pg "$BRUN_PG_BIN/createdb" -h 127.0.0.1 -p "$PG_PORT" -U postgres brun
}

start_azurite() {
  mkdir -p "$DATA/azurite"
  if ! (exec 3<>"/dev/tcp/127.0.0.1/$AZURITE_PORT") 2>/dev/null; then
    log "starting Azurite (blob) on 127.0.0.1:$AZURITE_PORT"
    nohup "$BRUN_AZURITE_BIN" --blobHost 127.0.0.1 --blobPort "$AZURITE_PORT" --location "$DATA/azurite" \
      --skipApiVersionCheck --loose --silent >"$DATA/azurite.log" 2>&1 &
    echo $! >"$DATA/azurite.pid"
    for _ in $(seq 1 100); do (exec 3<>"/dev/tcp/127.0.0.1/$AZURITE_PORT") 2>/dev/null && return 0; sleep 0.1; done
    log "Azurite did not start; see $DATA/azurite.log"; exit 1
  fi
}

stop_services() {
  [ -f "$DATA/azurite.pid" ] && kill "$(cat "$DATA/azurite.pid")" 2>/dev/null || true
  rm -f "$DATA/azurite.pid"
  if [ -f "$DATA/pg/PG_VERSION" ]; then
    as_pg "$(pg_bin)/pg_ctl" -D "$DATA/pg" -m fast -w stop >/dev/null 2>&1 || true
  fi
}

# The brun CLI, built once into .tools/brun and run directly: `dotnet run` re-evaluated the whole build on every call
# (5-12 s). It is rebuilt only when a source, project or migration file is newer than the last build's stamp.
BRUN_CLI_DIR="$TOOLS/brun"
ensure_brun_cli() {
  local stamp="$BRUN_CLI_DIR/.built"
  if [ ! -f "$stamp" ] || [ ! -f "$BRUN_CLI_DIR/brun.dll" ] \
     || [ -n "$(find "$ROOT/src" "$ROOT/migrations" "$ROOT/Directory.Build.props" "$ROOT/Directory.Packages.props" \
              \( -name bin -o -name obj \) -prune -o -type f -newer "$stamp" -print -quit 2>/dev/null)" ]; then
    log "building the brun command line into $BRUN_CLI_DIR"
    mkdir -p "$BRUN_CLI_DIR"
    touch "$stamp.next"
    dotnet build "$ROOT/src/BRun.Diagnostics.Cli" -c Release -nologo -v q -o "$BRUN_CLI_DIR" >&2
    mv "$stamp.next" "$stamp"
  fi
}

# Commands that need no database or blob storage: answer them without starting services.
brun_needs_services() {
  case "${1:-}" in
    ""|validate|-h|--help|-\?|--version) return 1 ;;
  esac
  for arg in "$@"; do case "$arg" in -h|--help|-\?) return 1 ;; esac; done
  return 0
}

export_local_config() {
  export ConnectionStrings__Postgres="${ConnectionStrings__Postgres:-Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=brun}"
  export ConnectionStrings__Blobs="${ConnectionStrings__Blobs:-DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=$AZURITE_KEY;BlobEndpoint=http://127.0.0.1:$AZURITE_PORT/devstoreaccount1;}"
}

cmd="${1:-}"; shift || true
case "$cmd" in
  deps) deps ;;
  services) deps; start_postgres; start_azurite; export_local_config; env | grep '^ConnectionStrings__' ;;
  stop-services) stop_services ;;
  brun)
    command -v dotnet >/dev/null || { log "the .NET 10 SDK is required (dotnet on PATH)"; exit 2; }
    ensure_brun_cli
    if brun_needs_services "$@"; then
      deps; start_postgres; start_azurite; export_local_config
      # As under `run`: with no API key, demo mode (the simulator plays Claude; run create may seed the demo admin).
      [ -z "${ANTHROPIC_API_KEY:-}" ] && export Demo__Enabled="${Demo__Enabled:-true}"
    fi
    exec dotnet "$BRUN_CLI_DIR/brun.dll" "$@" ;;
  run)
    deps; start_postgres; start_azurite; export_local_config
    export Database__MigrateOnStart="${Database__MigrateOnStart:-true}"
    # Demo mode (the simulator plays Claude, rows are marked simulated, the demo admin is seeded) only when no key is given.
    if [ -z "${ANTHROPIC_API_KEY:-}" ] && [ -z "${Claude__ApiKey:-}" ]; then
      export Demo__Enabled="${Demo__Enabled:-true}"
      log "no ANTHROPIC_API_KEY: demo mode, the built-in simulator answers every call"
    fi
    log "building and starting the dashboard on $WEB_URL"
    dotnet build "$ROOT/src/BRun.Diagnostics.Web" -c Release -nologo -v q
    exec dotnet run --no-build --project "$ROOT/src/BRun.Diagnostics.Web" -c Release --urls "$WEB_URL" -- "$@" ;;
  test)
    deps; ensure_chromium
    # The products and their tests (BRun.Diagnostics.Tests.slnf), not bench/: the benchmark projects are built by the
    # scripts that run them, and building them here cost half a minute of the ten the test run may take.
    dotnet build "$ROOT/BRun.Diagnostics.Tests.slnf" -c Release -nologo -v q
    # Test processes and the brun processes they start live seconds to minutes: profile-guided re-JIT never pays back
    # there (the command tests took 12 % less CPU without it).
    export DOTNET_TieredPGO="${DOTNET_TieredPGO:-0}"
    exec dotnet test "$ROOT/BRun.Diagnostics.Tests.slnf" -c Release --no-build -nologo "$@" ;;
  *)
    sed -n '2,5p' "$0" >&2; exit 2 ;;
esac
