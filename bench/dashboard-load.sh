#!/usr/bin/env bash
# Loads 1,000,000 failed_generations rows (plus 200,000 conversations) into a throwaway Postgres, starts the
# dashboard on it, and measures it: SQL plans/timings (psql, as the RLS-bound brun_app role) and the browser and
# HTTP figures (bench/BRun.Diagnostics.DashboardLoad, headless Chromium). Everything is removed at the end.
# Usage: bench/dashboard-load.sh [rows]      Needs: Postgres 15 binaries, azurite-blob (BRUN_AZURITE_BIN), chromium.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROWS="${1:-1000000}"
PGBIN="${BRUN_PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)}"
AZURITE="${BRUN_AZURITE_BIN:-$ROOT/.tools/node_modules/.bin/azurite-blob}"
WORK="$(mktemp -d)"
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PG_PORT="$(free_port)"; AZ_PORT="$(free_port)"; WEB_PORT="$(free_port)"
PSQL=(runuser -u postgres -- "$PGBIN/psql" -h "$WORK" -p "$PG_PORT" -U postgres -d brun -v ON_ERROR_STOP=1 -qtA)
log() { printf '[dashboard-load] %s\n' "$*" >&2; }

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
  -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $WORK -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c shared_buffers=256MB -c maintenance_work_mem=256MB" start >/dev/null
runuser -u postgres -- "$PGBIN/createdb" -h "$WORK" -p "$PG_PORT" -U postgres brun
"$AZURITE" --blobHost 127.0.0.1 --blobPort "$AZ_PORT" --inMemoryPersistence --skipApiVersionCheck --loose --silent & AZ_PID=$!

export ConnectionStrings__Postgres="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=brun"
export ConnectionStrings__Blobs="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$AZ_PORT/devstoreaccount1;"

log "building (Release)"
dotnet build "$ROOT/src/BRun.Diagnostics.Cli" -c Release -nologo -v q >/dev/null
# The dashboard runs as deployed: published (fingerprinted scripts and styles are then served "immutable", so a page
# load revalidates none of them; a build's output serves them "no-cache") and in the Production environment.
dotnet publish "$ROOT/src/BRun.Diagnostics.Web" -c Release -o "$WORK/web" -nologo -v q >/dev/null
dotnet build "$ROOT/bench/BRun.Diagnostics.DashboardLoad" -c Release -nologo -v q >/dev/null
BRUN=(dotnet "$ROOT/src/BRun.Diagnostics.Cli/bin/Release/net10.0/brun.dll")
[ -f "${BRUN[1]}" ] || BRUN=(dotnet "$(ls "$ROOT"/src/BRun.Diagnostics.Cli/bin/Release/net10.0/*.Cli.dll)")

"${BRUN[@]}" migrate >/dev/null
EMAIL="bench-$(date +%s)@example.test"; PASSWORD="bench password 123"
BRUN_USER_PASSWORD="$PASSWORD" "${BRUN[@]}" user create --email "$EMAIL" >/dev/null
BRUN_USER_PASSWORD="$PASSWORD" "${BRUN[@]}" user create --email "other-$EMAIL" >/dev/null
TOKEN="$("${BRUN[@]}" token create --email "$EMAIL" | grep -o 'brun_[A-Za-z0-9_-]*' | head -n 1)"
OWNER="$("${PSQL[@]}" -c "SELECT id FROM app_users WHERE email = '$EMAIL'")"
OTHER="$("${PSQL[@]}" -c "SELECT id FROM app_users WHERE email = 'other-$EMAIL'")"

log "inserting $ROWS failed_generations rows (90% owned by the measured member) and 200,000 conversations"
start=$(date +%s.%N)
"${PSQL[@]}" <<SQL
INSERT INTO failed_generations (id, run_id, prompt, prompt_length, model, max_tokens, temperature, raw_response, raw_body,
    response_content, stop_reason, input_tokens, output_tokens, http_status, streamed, failure_type, truncation_pattern,
    truncation_details, detection_confidence, error_message, report_status, raw_file_path, created_at, created_by)
SELECT gen_random_uuid(),
       ('00000000-0000-4000-8000-0000000000' || lpad((g % 20)::text, 2, '0'))::uuid,
       'Generate a financial planning conversation about retirement savings.', 68,
       CASE WHEN g % 4 = 0 THEN 'claude-haiku-4-5' ELSE 'claude-sonnet-4-5' END, 24576, 0.70,
       '{"type":"message","role":"assistant"}'::jsonb, '{"type":"message","role":"assistant"}',
       '{"turns":[{"role":"user","content":"I want to save for \\',
       CASE WHEN g % 10 < 7 THEN 'end_turn' WHEN g % 10 < 8 THEN 'max_tokens' END,
       2150,
       CASE WHEN g % 10 < 6 THEN 900 + (g::bigint * 7919) % 250 WHEN g % 10 = 9 THEN NULL ELSE (g::bigint * 104729) % 24576 END,
       CASE WHEN g % 10 = 9 THEN 529 ELSE 200 END, g % 3 = 0,
       CASE WHEN g % 10 = 9 THEN 'api_error' WHEN g % 10 = 8 THEN 'parse_error' ELSE 'truncation' END,
       CASE WHEN g % 10 < 8 THEN (ARRAY['lone_backslash','mid_word','escaped_quote','no_punctuation'])[1 + g % 4] END,
       CASE WHEN g % 10 < 8 THEN 'Content ends with a lone backslash inside a JSON string #' || g END,
       'high',
       CASE WHEN g % 10 >= 8 THEN 'overloaded_error: Overloaded #' || g END,
       -- Uploaded, as almost every report is once stored (the blob is absent: a download rebuilds it from the row).
       -- 'pending' would make the metrics sampler's count of pending reports a full scan every 15 s.
       'uploaded', 'bench/' || g || '.json',
       timestamptz '2026-10-26 00:00:00+00' + g * interval '2.592 seconds',
       CASE WHEN g % 10 = 5 THEN '$OTHER'::uuid ELSE '$OWNER'::uuid END
FROM generate_series(1, $ROWS) AS g;
INSERT INTO conversations (run_id, model, stop_reason, input_tokens, output_tokens, turns, created_by, created_at)
SELECT NULL, 'claude-sonnet-4-5', 'end_turn', 2150, 1500 + (g::bigint * 7919) % 4500, '[]'::jsonb, '$OWNER'::uuid,
       timestamptz '2026-10-26 00:00:00+00' + g * interval '12.96 seconds'
FROM generate_series(1, 200000) AS g;
VACUUM ANALYZE failed_generations;
VACUUM ANALYZE conversations;
SQL
log "insert + vacuum analyze took $(echo "$(date +%s.%N) - $start" | bc) s (the rollup triggers run inside the INSERT)"
log "rollup rows: $("${PSQL[@]}" -c "SELECT count(*) FROM failed_generation_counts"), rollup sum = count(*): $("${PSQL[@]}" -c "SELECT (SELECT sum(n) FROM failed_generation_counts) = (SELECT count(*) FROM failed_generations)")"
"${PSQL[@]}" -c "VACUUM ANALYZE failed_generation_counts"

log "token rollup rows: $("${PSQL[@]}" -c "SELECT count(*) FROM failed_generation_token_counts") failures, $("${PSQL[@]}" -c "SELECT count(*) FROM conversation_token_counts") conversations"
"${PSQL[@]}" -c "VACUUM ANALYZE failed_generation_token_counts"
"${PSQL[@]}" -c "VACUUM ANALYZE conversation_token_counts"
log "search copy rows = count(*): $("${PSQL[@]}" -c "SELECT (SELECT count(*) FROM failed_generation_search) = (SELECT count(*) FROM failed_generations)")"
"${PSQL[@]}" -c "VACUUM ANALYZE failed_generation_search"

log "SQL timings as brun_app acting for the member, JIT off as the application's connections (EXPLAIN ANALYZE execution time, warm cache)"
sql_time() {
  local name="$1" query="$2"
  "${PSQL[@]}" -c "SET ROLE brun_app; SET jit = off; SELECT set_config('app.user_id', '$OWNER', false); $query" >/dev/null
  local ms
  ms="$("${PSQL[@]}" -c "SET ROLE brun_app; SET jit = off; SELECT set_config('app.user_id', '$OWNER', false); EXPLAIN (ANALYZE, FORMAT TEXT) $query" | grep 'Execution Time' | grep -o '[0-9.]*')"
  printf 'sql %-58s %8s ms\n' "$name" "$ms"
}
COLS="id, created_at, failure_type, stop_reason, truncation_pattern, output_tokens, max_tokens, model, run_id"
sql_time "page 1 (newest first, limit 25)" "SELECT $COLS FROM failed_generations ORDER BY created_at DESC, id DESC LIMIT 25"
sql_time "page 1 filtered failure_type=api_error" "SELECT $COLS FROM failed_generations WHERE failure_type = 'api_error' ORDER BY created_at DESC, id DESC LIMIT 25"
sql_time "page 20,000 (offset 499,975)" "SELECT $COLS FROM failed_generations ORDER BY created_at DESC, id DESC LIMIT 25 OFFSET 499975"
KEY="$("${PSQL[@]}" -c "SELECT created_at || '|' || id FROM failed_generations WHERE created_by = '$OWNER' ORDER BY created_at DESC, id DESC OFFSET 499974 LIMIT 1")"
sql_time "page after row 499,975 by keyset" "SELECT $COLS FROM failed_generations WHERE (created_at, id) < ('${KEY%%|*}'::timestamptz, '${KEY##*|}'::uuid) ORDER BY created_at DESC, id DESC LIMIT 25"
sql_time "count(*) all visible" "SELECT count(*) FROM failed_generations"
sql_time "chip counts (grouping sets, no filter)" "SELECT failure_type, stop_reason, truncation_pattern, model, run_id, count(*) FROM failed_generations GROUP BY GROUPING SETS ((failure_type),(stop_reason),(truncation_pattern),(model),(run_id),())"
sql_time "chip counts, filter failure_type=api_error" "SELECT failure_type, stop_reason, truncation_pattern, model, run_id, count(*) FROM failed_generations WHERE failure_type = 'api_error' GROUP BY GROUPING SETS ((failure_type),(stop_reason),(truncation_pattern),(model),(run_id),())"
sql_time "rollup: total (sum n)" "SELECT sum(n) FROM failed_generation_counts"
sql_time "rollup: total, failure_type=api_error" "SELECT sum(n) FROM failed_generation_counts WHERE failure_type = 'api_error'"
sql_time "rollup: chip counts (grouping sets, no filter)" "SELECT failure_type, stop_reason, truncation_pattern, model, run_id, sum(n) FROM failed_generation_counts GROUP BY GROUPING SETS ((failure_type),(stop_reason),(truncation_pattern),(model),(run_id),())"
sql_time "rollup: chip counts, failure_type=api_error" "SELECT failure_type, stop_reason, truncation_pattern, model, run_id, sum(n) FROM failed_generation_counts WHERE failure_type = 'api_error' GROUP BY GROUPING SETS ((failure_type),(stop_reason),(truncation_pattern),(model),(run_id),())"
sql_time "rollup: chip counts, model + 7 days" "SELECT failure_type, stop_reason, truncation_pattern, model, run_id, sum(n) FROM failed_generation_counts WHERE model = 'claude-haiku-4-5' AND day >= date '2026-11-01' AND day < date '2026-11-08' GROUP BY GROUPING SETS ((failure_type),(stop_reason),(truncation_pattern),(model),(run_id),())"
sql_time "rollup: failures per day by type" "SELECT day, failure_type, sum(n) FROM failed_generation_counts GROUP BY 1, 2"
sql_time "text search q='#123457', ILIKE as brun_app (RLS: no index)" "SELECT count(*) FROM failed_generations WHERE (truncation_details ILIKE '%#123457%' OR error_message ILIKE '%#123457%')"
sql_time "text search q='#123457' resolved to ids (migration 0087)" "SELECT count(*) FROM failed_generations WHERE id = ANY(brun_failed_generation_text_matches('%#123457%', 20000))"
sql_time "text search q='backslash' found broad (0087 answers NULL)" "SELECT brun_failed_generation_text_matches('%backslash%', 20000) IS NULL"
sql_time "text search q='backslash' (matches 80%)" "SELECT $COLS FROM failed_generations WHERE (truncation_details ILIKE '%backslash%' OR error_message ILIKE '%backslash%') ORDER BY created_at DESC, id DESC LIMIT 25"
sql_time "q='backslash' chip counts, rows (one aggregate)" "SELECT failure_type, stop_reason, truncation_pattern, model, run_id, count(*) FROM failed_generations WHERE (truncation_details ILIKE '%backslash%' OR error_message ILIKE '%backslash%') GROUP BY 1, 2, 3, 4, 5"
sql_time "q='backslash' chip counts, search copy (0089)" "SELECT d.failure_type, d.stop_reason, d.truncation_pattern, d.model, d.run_id, m.n FROM (SELECT dimensions, count(*) AS n FROM failed_generation_search WHERE (details LIKE lower('%backslash%') OR errors LIKE lower('%backslash%')) GROUP BY dimensions) m JOIN failed_generation_dimensions d ON d.id = m.dimensions"
sql_time "histogram, rows: failures + conversations (before 0090)" "WITH f AS (SELECT width_bucket(output_tokens, 0, 5000, 50) AS b, count(*) AS n FROM failed_generations WHERE output_tokens IS NOT NULL GROUP BY 1), s AS (SELECT width_bucket(output_tokens, 0, 5000, 50) AS b, count(*) AS n FROM conversations WHERE output_tokens IS NOT NULL GROUP BY 1) SELECT g, f.n, s.n FROM generate_series(1, 51) g LEFT JOIN f ON f.b = g LEFT JOIN s ON s.b = g"
sql_time "histogram, token rollups (0090)" "WITH f AS (SELECT CASE WHEN bucket < 0 THEN 0 ELSE least(bucket / 2 + 1, 51) END AS b, sum(n) AS n FROM failed_generation_token_counts GROUP BY 1), s AS (SELECT CASE WHEN bucket < 0 THEN 0 ELSE least(bucket / 2 + 1, 51) END AS b, sum(n) AS n FROM conversation_token_counts GROUP BY 1) SELECT g, f.n, s.n FROM generate_series(1, 51) g LEFT JOIN f ON f.b = g LEFT JOIN s ON s.b = g"
sql_time "histogram, token rollups, model + 7 days" "SELECT CASE WHEN bucket < 0 THEN 0 ELSE least(bucket / 2 + 1, 51) END AS b, sum(n) FROM failed_generation_token_counts WHERE model = 'claude-haiku-4-5' AND day >= date '2026-11-01' AND day < date '2026-11-08' GROUP BY 1"
sql_time "histogram failures (width_bucket)" "SELECT width_bucket(output_tokens, 0, 5000, 50), count(*) FROM failed_generations WHERE output_tokens IS NOT NULL GROUP BY 1"
sql_time "failures per day by type (date_trunc)" "SELECT date_trunc('day', created_at AT TIME ZONE 'UTC'), failure_type, count(*) FROM failed_generations GROUP BY 1, 2"

log "starting the dashboard on 127.0.0.1:$WEB_PORT"
( cd "$WORK/web" && ASPNETCORE_ENVIRONMENT=Production Auth__SeedAdminPassword= ReportUpload__RetrierEnabled=false \
  Logging__LogLevel__Default=Warning \
  exec dotnet BRun.Diagnostics.Web.dll --urls "http://127.0.0.1:$WEB_PORT" >"$WORK/web.log" 2>&1 ) & WEB_PID=$!
for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$WEB_PORT/healthz" >/dev/null && break; sleep 0.5; done

log "browser and HTTP measurements"
dotnet "$ROOT/bench/BRun.Diagnostics.DashboardLoad/bin/Release/net10.0/BRun.Diagnostics.DashboardLoad.dll" \
  "http://127.0.0.1:$WEB_PORT" "$EMAIL" "$PASSWORD" "$TOKEN" "$ConnectionStrings__Postgres" "$OWNER"
WEB_RSS_KB="$(ps -o rss= -p "$WEB_PID" 2>/dev/null || echo '?')"
log "dashboard RSS after the export: ${WEB_RSS_KB} KiB"
