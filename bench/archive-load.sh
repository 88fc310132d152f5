#!/usr/bin/env bash
# The bulk RAW archive at scale: loads N failed_generations rows (default 100,000; 99 % with a RAW report blob in
# Azurite, 1 % still waiting for upload so the archive rebuilds them from the row; the rows share 2,000 distinct blobs) into a throwaway Postgres, starts
# the dashboard on it, and downloads GET /api/failed-generations/export?format=zip for one run (about 1/20 of the rows)
# and for everything, sampling the web host's resident memory (bench/BRun.Diagnostics.ArchiveLoad). Removes it all.
# Usage: bench/archive-load.sh [rows]      Needs: Postgres 15 binaries, azurite-blob (BRUN_AZURITE_BIN).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROWS="${1:-100000}"
PGBIN="${BRUN_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}"
AZURITE="${BRUN_AZURITE_BIN:-$ROOT/.tools/node_modules/.bin/azurite-blob}"
WORK="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PG_PORT="$(free_port)"; AZ_PORT="$(free_port)"; WEB_PORT="$(free_port)"
PSQL=(runuser -u postgres -- "$PGBIN/psql" -h "$WORK" -p "$PG_PORT" -U postgres -d brun -v ON_ERROR_STOP=1 -qtA)
log() { printf '[archive-load] %s\n' "$*" >&2; }

cleanup() {
  [ -n "${WEB_PID:-}" ] && kill "$WEB_PID" 2>/dev/null || true
  [ -n "${AZ_PID:-}" ] && kill "$AZ_PID" 2>/dev/null || true
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/data" -m fast -w stop >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

chown postgres:postgres "$WORK"
runuser -u postgres -- "$PGBIN/initdb" -D "$WORK/data" -U postgres --auth=trust -E UTF8 --no-locale --no-sync >/dev/null
runuser -u postgres -- "$PGBIN/pg_ctl" -D "$WORK/data" -l "$WORK/pg.log" -w \
  -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $WORK -c fsync=off -c synchronous_commit=off -c full_page_writes=off" start >/dev/null
runuser -u postgres -- "$PGBIN/createdb" -h "$WORK" -p "$PG_PORT" -U postgres brun
"$AZURITE" --blobHost 127.0.0.1 --blobPort "$AZ_PORT" --inMemoryPersistence --skipApiVersionCheck --loose --silent & AZ_PID=$!

export ConnectionStrings__Postgres="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=brun"
export ConnectionStrings__Blobs="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$AZ_PORT/devstoreaccount1;"

log "building (Release)"
dotnet build "$ROOT/src/BRun.Diagnostics.Cli" -c Release -nologo -v q >/dev/null
dotnet build "$ROOT/src/BRun.Diagnostics.Web" -c Release -nologo -v q >/dev/null
dotnet build "$ROOT/bench/BRun.Diagnostics.ArchiveLoad" -c Release -nologo -v q >/dev/null
BRUN=(dotnet "$ROOT/src/BRun.Diagnostics.Cli/bin/Release/net10.0/brun.dll")

"${BRUN[@]}" migrate >/dev/null
EMAIL="bench-$(date +%s)@example.test"; PASSWORD="bench password 123"
"${BRUN[@]}" user create --email "$EMAIL" --password "$PASSWORD" >/dev/null
TOKEN="$("${BRUN[@]}" token create --email "$EMAIL" | grep -o 'brun_[A-Za-z0-9_-]*' | head -n 1)"
OWNER="$("${PSQL[@]}" -c "SELECT id FROM app_users WHERE email = '$EMAIL'")"
SMALL_RUN="00000000-0000-4000-8000-000000000007"
# Rows share DISTINCT blobs (a row's archive entry is still its own blob download): uploading 100,000 blobs one by
# one into Azurite took over an hour on the shared machine, which measures Azurite, not the archive.
DISTINCT="${DISTINCT:-2000}"

log "inserting $ROWS failed_generations rows in 20 runs (1 % waiting for upload)"
"${PSQL[@]}" <<SQL
INSERT INTO failed_generations (id, run_id, prompt, prompt_length, model, max_tokens, temperature, raw_response, raw_body,
    response_content, stop_reason, input_tokens, output_tokens, http_status, streamed, failure_type, truncation_pattern,
    truncation_details, detection_confidence, request_id, report_status, raw_file_path, created_at, created_by)
SELECT id, ('00000000-0000-4000-8000-0000000000' || lpad((g % 20)::text, 2, '0'))::uuid,
       'Generate a financial planning conversation about retirement savings.', 68, 'claude-sonnet-4-5', 24576, 0.70,
       '{"type":"message","role":"assistant"}'::jsonb, '{"type":"message","role":"assistant"}',
       '{"turns":[{"role":"user","content":"I want to save for \\\\', 'end_turn', 2150, 900 + (g::bigint * 7919) % 250, 200, false,
       'truncation', 'lone_backslash', 'Content ends with a lone backslash inside a JSON string #' || g, 'high', 'req_' || g,
       CASE WHEN g % 100 = 0 THEN 'pending' ELSE 'uploaded' END,
       CASE WHEN g % 100 = 0 THEN NULL ELSE 'bench/report-' || (g % $DISTINCT) || '.json' END,
       created, '$OWNER'::uuid
FROM (SELECT g, gen_random_uuid() AS id, timestamptz '2026-10-26 00:00:00+00' + g * interval '2.592 seconds' AS created
      FROM generate_series(1, $ROWS) AS g) AS s;
VACUUM ANALYZE failed_generations;
SQL

log "starting the dashboard on 127.0.0.1:$WEB_PORT"
( cd "$ROOT/src/BRun.Diagnostics.Web" && ASPNETCORE_ENVIRONMENT=Development Auth__SeedAdminPassword= ReportUpload__RetrierEnabled=false \
  Worker__Enabled=false Demo__Enabled=false Logging__LogLevel__Default=Warning \
  exec dotnet bin/Release/net10.0/BRun.Diagnostics.Web.dll --urls "http://127.0.0.1:$WEB_PORT" >"$WORK/web.log" 2>&1 ) & WEB_PID=$!
for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$WEB_PORT/healthz" >/dev/null && break; sleep 0.5; done
# One small request first, so the figures do not include JIT and connection-pool warm-up.
curl -fs -H "Authorization: Bearer $TOKEN" "http://127.0.0.1:$WEB_PORT/api/failed-generations/export?format=zip&run_id=00000000-0000-4000-8000-000000000099" -o /dev/null

log "uploading report blobs, then measuring"
dotnet "$ROOT/bench/BRun.Diagnostics.ArchiveLoad/bin/Release/net10.0/BRun.Diagnostics.ArchiveLoad.dll" \
  "http://127.0.0.1:$WEB_PORT" "$TOKEN" "$ConnectionStrings__Postgres" "$ConnectionStrings__Blobs" "failed-generation-files" "$WEB_PID" "$SMALL_RUN"
log "load average: $(cat /proc/loadavg)"
