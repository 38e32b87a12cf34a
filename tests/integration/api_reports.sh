#!/usr/bin/env bash
# Reports over real HTTP against a fresh database whose levels are filled
# with SQL: every report route, the level choice of /reports/range (whole
# years, whole months, days: checked by making the finer levels disagree),
# limits, strict parameters, hostile parameters, /pages cursors.
source "$MF_ROOT/tests/lib.sh"
source "$MF_ROOT/tests/api_helpers.sh"

mf_fresh_db api_reports || { not_ok "fresh database"; mf_done; exit 1; }
mk_user viewer@example.org viewer 'viewer-password-1'
api_start --burst-user 100000 --rate-user 100000 || { not_ok "api starts"; mf_done; exit 1; }
TOKEN=$(login viewer@example.org 'viewer-password-1')
check "viewer logs in" test -n "$TOKEN"

# --- data -----------------------------------------------------------------
mf_sql "
INSERT INTO page (site, path) VALUES ('default','/a'), ('default','/b'),
  ('default','/blog/1'), ('default','/blog/2'), ('default','/blog/3'),
  ('default','/x_y'), ('default','/xay'), ('other','/a');
INSERT INTO agg_day (page_id, day, users, sessions, views, bounces,
  duration_s, psi_samples, performance_score_n, performance_score_sum,
  lcp_ms_n, lcp_ms_sum)
SELECT p.page_id, d::date, g % 7 + 1, 2 * (g % 7 + 1), 3 * (g % 7 + 1) + g % 2,
  g % 7, (g % 7 + 1) * 10.5, (g % 3 = 0)::int, (g % 3 = 0)::int,
  (g % 3 = 0)::int * (0.5 + (g % 5) / 10.0), (g % 3 = 0)::int,
  (g % 3 = 0)::int * (1000 + g)
FROM page p, generate_series(date '2023-12-01', date '2025-01-31', '1 day') d,
  LATERAL (SELECT (d::date - date '2023-12-01') AS g) x
WHERE p.site = 'default' AND p.path = '/a';
DELETE FROM agg_day WHERE day = '2025-01-05';
INSERT INTO agg_day (page_id, day, users, sessions, views, bounces)
SELECT p.page_id, d::date, 1, 1, CASE p.path WHEN '/b' THEN 100 ELSE 1000 END, 0
FROM page p, generate_series(date '2025-01-01', date '2025-01-10', '1 day') d
WHERE (p.site, p.path) IN (('default','/b'), ('other','/a'));
INSERT INTO agg_month (page_id, month, users, sessions, views, bounces,
  duration_s, psi_samples, performance_score_n, performance_score_sum,
  lcp_ms_n, lcp_ms_sum)
SELECT page_id, date_trunc('month', day)::date, sum(users), sum(sessions),
  sum(views), sum(bounces), sum(duration_s), sum(psi_samples),
  sum(performance_score_n), sum(performance_score_sum), sum(lcp_ms_n),
  sum(lcp_ms_sum)
FROM agg_day GROUP BY 1, 2;
INSERT INTO agg_year (page_id, year, users, sessions, views, bounces,
  duration_s, psi_samples, performance_score_n, performance_score_sum,
  lcp_ms_n, lcp_ms_sum)
SELECT page_id, extract(year FROM month)::int, sum(users), sum(sessions),
  sum(views), sum(bounces), sum(duration_s), sum(psi_samples),
  sum(performance_score_n), sum(performance_score_sum), sum(lcp_ms_n),
  sum(lcp_ms_sum)
FROM agg_month GROUP BY 1, 2;
-- The finer levels of 2024 now disagree with the coarser ones, so an
-- answer shows which level it was read from.
UPDATE agg_day SET users = users + 1000 WHERE day BETWEEN '2024-01-01' AND '2024-12-31';
UPDATE agg_month SET users = users + 100000 WHERE month BETWEEN '2024-01-01' AND '2024-12-01';
INSERT INTO agg_hour (page_id, hour, users, sessions, views)
SELECT page_id, h, 1, 2, extract(hour FROM h AT TIME ZONE 'UTC')::int + 1
FROM page, unnest(ARRAY[timestamptz '2024-06-01 00:00Z', '2024-06-01 05:00Z',
  '2024-06-01 23:00Z', '2024-06-02 00:00Z']) h
WHERE site = 'default' AND path = '/a';
INSERT INTO agg_interval (page_id, day, interval, users, sessions, views)
SELECT page_id, '2024-06-01', i, 1, 1, 10 * i FROM page, unnest(ARRAY[1, 3]) i
WHERE site = 'default' AND path = '/a';
" >/dev/null || not_ok "test data loads"
A=$(mf_sql "SELECT page_id FROM page WHERE site='default' AND path='/a'")

COLS="users, sessions, views, bounces, duration_s, performance_score_sum,
  performance_score_n, lcp_ms_sum, lcp_ms_n"
# expect SQL: the measures of the rows SQL selects, as one line.
expect() {
    mf_sql "WITH s AS ($1) SELECT concat_ws(' ', coalesce(sum(users), 0),
      coalesce(sum(sessions), 0), coalesce(sum(views), 0),
      coalesce(sum(bounces), 0), coalesce(round(sum(duration_s) * 1000), 0),
      coalesce(round(sum(bounces)::numeric / nullif(sum(sessions), 0) * 1e6)::text, 'null'),
      coalesce(round(sum(performance_score_sum) / nullif(sum(performance_score_n), 0) * 1e6)::text, 'null'),
      coalesce(round(sum(lcp_ms_sum) / nullif(sum(lcp_ms_n), 0) * 1e6)::text, 'null'),
      'null') FROM s"
}
# got [JQ PATH]: the same line from the last answer.
got() {
    body_jq "${1:-.totals} | [.users, .sessions, .views, .bounces,
      (.duration_s * 1000 | round),
      (if .bounce_rate == null then \"null\" else (.bounce_rate * 1e6 | round) end),
      (if .performance_score == null then \"null\" else (.performance_score * 1e6 | round) end),
      (if .lcp_ms == null then \"null\" else (.lcp_ms * 1e6 | round) end),
      (.inp_ms // \"null\")] | map(tostring) | join(\" \")"
}
day() { echo "SELECT $COLS FROM agg_day WHERE page_id = $A AND day BETWEEN '$1' AND '$2'"; }
month() { echo "SELECT $COLS FROM agg_month WHERE page_id = $A AND month BETWEEN '$1' AND '$2'"; }
year() { echo "SELECT $COLS FROM agg_year WHERE page_id = $A AND year BETWEEN $1 AND $2"; }

# --- /reports/range: the coarsest levels that fit -------------------------
range_case() {
    local what=$1 from=$2 to=$3 sql=$4
    check_eq "range $what: status" 200 "$(get "/api/v1/reports/range?page=/a&from=$from&to=$to")"
    check_eq "range $what: totals from the right levels" "$(expect "$sql")" "$(got)"
}
range_case "year + 2 days" 2023-12-31 2025-01-01 \
    "$(day 2023-12-31 2023-12-31) UNION ALL $(year 2024 2024) UNION ALL $(day 2025-01-01 2025-01-01)"
range_case "two whole months" 2024-02-01 2024-03-31 "$(month 2024-02-01 2024-03-01)"
range_case "days + month + days" 2023-12-15 2024-02-10 \
    "$(day 2023-12-15 2023-12-31) UNION ALL $(month 2024-01-01 2024-01-01) UNION ALL $(day 2024-02-01 2024-02-10)"
range_case "days inside a month" 2024-02-03 2024-02-05 "$(day 2024-02-03 2024-02-05)"
range_case "month + year + month" 2023-12-01 2025-01-31 \
    "$(month 2023-12-01 2023-12-01) UNION ALL $(year 2024 2024) UNION ALL $(month 2025-01-01 2025-01-01)"
range_case "no data" 2020-01-01 2020-01-31 "$(day 2020-01-01 2020-01-31)"
check_eq "range without data: bounce_rate null" null "$(body_jq .totals.bounce_rate)"
check_eq "range echoes site, page, from, to" "default /a 2020-01-01 2020-01-31" \
    "$(body_jq '[.site, .page, .from, .to] | join(" ")')"
check_eq "range with a trailing slash and upper-case site" 200 \
    "$(get "/api/v1/reports/range?page=/a/&site=DEFAULT&from=2024-02-03&to=2024-02-05")"
check_eq "  same totals" "$(expect "$(day 2024-02-03 2024-02-05)")" "$(got)"

# --- series ----------------------------------------------------------------
check_eq "daily: status" 200 "$(get "/api/v1/reports/daily?page=%2Fa&from=2025-01-01&to=2025-01-10")"
check_eq "daily: days without data left out" \
    "$(mf_sql "SELECT string_agg(to_char(day, 'YYYY-MM-DD') || '=' || users, ',' ORDER BY day) FROM agg_day WHERE page_id = $A AND day BETWEEN '2025-01-01' AND '2025-01-10'")" \
    "$(body_jq '[.rows[] | "\(.date)=\(.users)"] | join(",")')"
check_eq "daily: 9 rows" 9 "$(body_jq '.rows | length')"
check_eq "daily: head" "default /a 2025-01-01 2025-01-10" "$(body_jq '[.site, .page, .from, .to] | join(" ")')"
check_eq "daily row measures" "$(expect "$(day 2025-01-02 2025-01-02)")" "$(got '.rows[1]')"
check_eq "monthly: status" 200 "$(get "/api/v1/reports/monthly?page=/a&from=2023-11&to=2024-02")"
check_eq "monthly: rows from agg_month" \
    "$(mf_sql "SELECT string_agg(to_char(month, 'YYYY-MM') || '=' || users, ',' ORDER BY month) FROM agg_month WHERE page_id = $A AND month BETWEEN '2023-11-01' AND '2024-02-01'")" \
    "$(body_jq '[.rows[] | "\(.month)=\(.users)"] | join(",")')"
check_eq "yearly: status" 200 "$(get "/api/v1/reports/yearly?page=/a&from=2000&to=2030")"
check_eq "yearly: rows from agg_year" \
    "$(mf_sql "SELECT string_agg(year || '=' || users, ',' ORDER BY year) FROM agg_year WHERE page_id = $A")" \
    "$(body_jq '[.rows[] | "\(.year)=\(.users)"] | join(",")')"
check_eq "hourly: status" 200 "$(get "/api/v1/reports/hourly?page=/a&date=2024-06-01")"
check_eq "hourly: hours of that UTC day only" "0=1,5=6,23=24" \
    "$(body_jq '[.rows[] | "\(.hour)=\(.views)"] | join(",")')"
check_eq "hourly: bounce_rate 0 with sessions, inp_ms null" "0 null" \
    "$(body_jq '[.rows[0].bounce_rate, .rows[0].inp_ms] | map(tostring) | join(" ")')"
check_eq "intervals: status" 200 "$(get "/api/v1/reports/intervals?page=/a&date=2024-06-01")"
check_eq "intervals: rows" "1=10,3=30" "$(body_jq '[.rows[] | "\(.interval)=\(.views)"] | join(",")')"

# --- site-wide -------------------------------------------------------------
check_eq "summary: status" 200 "$(get "/api/v1/reports/summary?from=2025-01-01&to=2025-01-10")"
check_eq "summary: views of the site's pages only" \
    "$(mf_sql "SELECT sum(views) FROM agg_day JOIN page USING (page_id) WHERE site = 'default' AND day BETWEEN '2025-01-01' AND '2025-01-10'")" \
    "$(body_jq .totals.views)"
check_eq "top pages: status" 200 "$(get "/api/v1/reports/pages?from=2025-01-01&to=2025-01-10&sort=views&limit=2")"
check_eq "top pages: ranked by views" "/b=1000 /a=$(mf_sql "SELECT sum(views) FROM agg_day WHERE page_id = $A AND day BETWEEN '2025-01-01' AND '2025-01-10'")" \
    "$(body_jq '[.rows[] | "\(.path)=\(.views)"] | join(" ")')"
check_eq "top pages of another site" "/a=10000" \
    "$(get "/api/v1/reports/pages?site=other&from=2025-01-01&to=2025-01-10" >/dev/null; body_jq '[.rows[] | "\(.path)=\(.views)"] | join(" ")')"
check_eq "top pages by bounce_rate" 200 "$(get "/api/v1/reports/pages?from=2025-01-01&to=2025-01-10&sort=bounce_rate")"
check_eq "  /a first (only it has bounces)" /a "$(body_jq '.rows[0].path')"

# --- /pages ----------------------------------------------------------------
check_eq "pages: prefix, limit" 200 "$(get "/api/v1/pages?q=/blog&limit=2")"
check_eq "  first page" "/blog/1 /blog/2" "$(body_jq '[.rows[].path] | join(" ")')"
CURSOR=$(body_jq .next_cursor)
check_eq "  next page by cursor" 200 "$(get "/api/v1/pages?q=/blog&limit=2&cursor=$CURSOR")"
check_eq "  rest, no further cursor" "/blog/3 null" "$(body_jq '[(.rows[].path), .next_cursor] | map(tostring) | join(" ")')"
check_eq "pages: '_' in the prefix is literal" "/x_y" \
    "$(get "/api/v1/pages?q=/x_" >/dev/null; body_jq '[.rows[].path] | join(" ")')"
check_eq "pages: '%' in the prefix is literal" 0 \
    "$(get "/api/v1/pages?q=/%25" >/dev/null; body_jq '.rows | length')"
check_eq "pages of site other" "/a" "$(get "/api/v1/pages?site=other" >/dev/null; body_jq '[.rows[].path] | join(" ")')"

# --- limits and strict parameters ------------------------------------------
bad() { # bad "what" PATH FIELD
    local st
    st=$(get "$2")
    check_eq "$1: 400" 400 "$st"
    check_eq "$1: names $3" "$3" "$(body_jq '.field // "none"')"
    check_eq "$1: problem+json" "application/problem+json" "$(header Content-Type)"
}
bad "3,701 days" "/api/v1/reports/daily?page=/a&from=2015-01-01&to=2025-02-17" to
check_eq "3,700 days pass" 200 "$(get "/api/v1/reports/daily?page=/a&from=2015-01-01&to=2025-02-16")"
bad "1,201 months" "/api/v1/reports/monthly?page=/a&from=1900-01&to=2000-01" to
check_eq "1,200 months pass" 200 "$(get "/api/v1/reports/monthly?page=/a&from=1900-01&to=1999-12")"
bad "201 years" "/api/v1/reports/yearly?page=/a&from=1800&to=2000" to
check_eq "200 years pass" 200 "$(get "/api/v1/reports/yearly?page=/a&from=1801&to=2000")"
bad "limit 1001" "/api/v1/reports/pages?from=2025-01-01&to=2025-01-02&limit=1001" limit
bad "limit 0" "/api/v1/pages?limit=0" limit
bad "limit -1" "/api/v1/pages?limit=-1" limit
check_eq "limit 1000 passes" 200 "$(get "/api/v1/pages?limit=1000")"
bad "February 30" "/api/v1/reports/daily?page=/a&from=2024-02-30&to=2024-03-01" from
bad "date with time" "/api/v1/reports/hourly?page=/a&date=2024-06-01T00:00" date
bad "month 13" "/api/v1/reports/monthly?page=/a&from=2024-13&to=2024-12" from
bad "year as word" "/api/v1/reports/yearly?page=/a&from=20x4&to=2025" from
bad "to before from" "/api/v1/reports/range?page=/a&from=2024-02-02&to=2024-02-01" to
bad "missing page" "/api/v1/reports/daily?from=2024-02-01&to=2024-02-02" page
bad "missing to" "/api/v1/reports/daily?page=/a&from=2024-02-01" to
bad "page without slash" "/api/v1/reports/range?page=a&from=2024-02-01&to=2024-02-02" page
bad "unknown sort" "/api/v1/reports/pages?from=2024-02-01&to=2024-02-02&sort=views;DROP" sort
bad "repeated parameter" "/api/v1/reports/range?page=/a&page=/b&from=2024-02-01&to=2024-02-02" page
bad "parameter of another route" "/api/v1/reports/range?page=/a&from=2024-02-01&to=2024-02-02&limit=3" limit
bad "bad cursor" "/api/v1/pages?cursor=zz" cursor
bad "site with a space" "/api/v1/reports/summary?site=a%20b&from=2024-02-01&to=2024-02-02" site
bad "control character in page" "/api/v1/reports/range?page=/a%0A&from=2024-02-01&to=2024-02-02" page
bad "invalid UTF-8 in page" "/api/v1/reports/range?page=/%C3%28&from=2024-02-01&to=2024-02-02" page

# Quotes and SQL fragments are data, never SQL.
check_eq "page with quotes: 404, not an error" 404 \
    "$(get "/api/v1/reports/range?page=%2Fa'%20OR%20'1'%3D'1&from=2024-02-01&to=2024-02-02")"
check_eq "  problem names page" page "$(body_jq .field)"
bad "site with SQL and tabs" "/api/v1/reports/summary?site=x';DROP%09TABLE%09page;--&from=2024-02-01&to=2024-02-02" site
check_eq "site with SQL and quotes: zero views" 200 \
    "$(get "/api/v1/reports/summary?site=x'%3BDROP--&from=2024-02-01&to=2024-02-02")"
check_eq "  zero views" 0 "$(body_jq .totals.views)"
check_eq "q with SQL: no match" 200 "$(get "/api/v1/pages?q=/'%20OR%201=1--")"
check_eq "  empty" 0 "$(body_jq '.rows | length')"
check_eq "page table intact" 8 "$(mf_sql "SELECT count(*) FROM page")"
check_eq "unknown page: 404 problem" 404 "$(get "/api/v1/reports/daily?page=/nope&from=2024-02-01&to=2024-02-02")"

# --- pipeline (a stub until the pipeline's function lands) -----------------
if ! mf_sql "SELECT 1 FROM pg_proc WHERE proname = 'mf_pipeline_status'" | grep -q 1; then
    mf_sql "CREATE FUNCTION mf_pipeline_status() RETURNS TABLE (stage text,
      pending bigint, oldest_pending_s double precision, last_run_at timestamptz)
      LANGUAGE sql AS \$\$ SELECT s, count(b.batch_id),
      extract(epoch FROM now() - min(b.created_at))::float8, NULL::timestamptz
      FROM unnest(ARRAY['stage-ga','stage-psi']) s
      LEFT JOIN pending_batch b ON b.stage = s GROUP BY s \$\$" >/dev/null
fi
check_eq "pipeline: needs a token" 401 "$(call GET /api/v1/pipeline)"
check_eq "pipeline: status" 200 "$(get /api/v1/pipeline)"
check_eq "pipeline: idle when nothing is pending" true "$(body_jq .idle)"
mf_sql "INSERT INTO pending_batch (stage, batch_id) VALUES ('stage-ga', 1)" >/dev/null
get /api/v1/pipeline >/dev/null
check_eq "pipeline: not idle with pending work" "false 1" \
    "$(body_jq '[.idle, ([.stages[] | select(.stage == "stage-ga")][0].pending)] | map(tostring) | join(" ")')"

check "api stops cleanly on SIGTERM" api_stop
mf_done
