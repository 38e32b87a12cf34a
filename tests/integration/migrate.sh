#!/usr/bin/env bash
# metriflow-admin migrate: on a fresh database, twice in a row, and twice at
# the same time; every migration recorded once; the tables of the schema.
source "$MF_ROOT/tests/lib.sh"

LOCAL=$MF_ROOT/tools/metriflow-local
ADMIN=$MF_BIN/metriflow-admin
files=$(ls "$MF_ROOT"/sql/migrations/*.sql | wc -l)
expected_tables="agg_day agg_hour agg_interval agg_month agg_year app_user
ingest_batch page pending_batch raw_ga raw_psi refresh_token rejected_record
schema_migration staged_ga staged_psi"

METRIFLOW_PG_URL=$("$LOCAL" createdb "mft_migrate_$$")
export METRIFLOW_PG_URL
check_eq "the new database is empty" 0 \
    "$(mf_sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")"
check "first migrate succeeds" "$ADMIN" migrate 2>"$T_OUT/m1.log"
check_eq "every migration file is recorded once" "$files" \
    "$(mf_sql "SELECT count(*) FROM schema_migration")"
check_eq "recorded names are the file names" \
    "$(cd "$MF_ROOT/sql/migrations" && ls *.sql | sort | tr '\n' ' ')" \
    "$(mf_sql "SELECT name FROM schema_migration ORDER BY name" | tr '\n' ' ')"
for t in $expected_tables; do
    check_eq "table $t exists" 1 \
        "$(mf_sql "SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename = '$t'")"
done
before=$(mf_sql "SELECT string_agg(name || '@' || applied_at, ',' ORDER BY name) FROM schema_migration")
check "second migrate succeeds" "$ADMIN" migrate 2>"$T_OUT/m2.log"
check_eq "the second run applies nothing" "$before" \
    "$(mf_sql "SELECT string_agg(name || '@' || applied_at, ',' ORDER BY name) FROM schema_migration")"
check "the second run says the schema is up to date with nothing applied" \
    grep -q 'schema up to date.*applied=0' "$T_OUT/m2.log"
check "the first run logged each migration" grep -q 'migration applied' "$T_OUT/m1.log"

# Two runs at once on another fresh database: both succeed, one applies.
METRIFLOW_PG_URL=$("$LOCAL" createdb "mft_migrate_conc_$$")
export METRIFLOW_PG_URL
"$ADMIN" migrate 2>"$T_OUT/c1.log" &
p1=$!
"$ADMIN" migrate 2>"$T_OUT/c2.log" &
p2=$!
wait $p1
r1=$?
wait $p2
r2=$?
check_eq "two concurrent migrate runs both exit 0" "0 0" "$r1 $r2"
check_eq "... and record every migration once" "$files" \
    "$(mf_sql "SELECT count(*) FROM schema_migration")"
check_eq "... and applied each file once in all" "$files" \
    "$(cat "$T_OUT/c1.log" "$T_OUT/c2.log" | grep -c 'migration applied')"

# A database that cannot be reached: exit 1 and no secret in the message.
METRIFLOW_PG_URL="postgresql://metriflow:hunter2-secret@127.0.0.1:1/none" \
    "$ADMIN" migrate 2>"$T_OUT/bad.log"
check_eq "an unreachable database: exit 1" 1 $?
check "the error does not show the password" bash -c "! grep -q hunter2 '$T_OUT/bad.log'"

for db in "mft_migrate_$$" "mft_migrate_conc_$$"; do
    "$LOCAL" psql -qAtX -c "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1
done
mf_done
