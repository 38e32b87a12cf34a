#!/usr/bin/env bash
# The dashboard in a real browser: metriflow-api on a free port against a
# fresh database and the shared Redis, an admin made with metriflow-admin, a
# small data set written into the page and agg_* tables, then headless
# Chromium (Debian's /usr/bin/chromium, driven by playwright-core from
# tests/browser) signs in and compares what it shows with the API's own
# answers fetched here with curl. Screenshots go to tests/out/dashboard/.
# Also checks the static files' headers, caching and traversal refusals.
source "$MF_ROOT/tests/lib.sh"

api_pid=""
profile=""
cleanup() {
    [ -n "$api_pid" ] && kill "$api_pid" 2>/dev/null && wait "$api_pid" 2>/dev/null
    [ -n "$profile" ] && rm -rf "$profile"
}
trap cleanup EXIT

bail() { not_ok "$*"; mf_done; exit 1; }

# --- playwright-core, pinned in tests/browser/package-lock.json ----------
browser_dir=$MF_BIN/../browser
if ! cmp -s "$MF_ROOT/tests/browser/package-lock.json" \
    "$browser_dir/package-lock.json" ||
    [ ! -d "$browser_dir/node_modules/playwright-core" ]; then
    mkdir -p "$browser_dir"
    cp "$MF_ROOT/tests/browser/package.json" \
        "$MF_ROOT/tests/browser/package-lock.json" "$browser_dir/"
    (cd "$browser_dir" && npm ci --ignore-scripts --no-audit --no-fund \
        --loglevel=error) >"$T_OUT/npm.log" 2>&1 ||
        bail "npm ci of tests/browser (see $T_OUT/npm.log)"
fi
cp "$MF_ROOT/tests/browser/dashboard.mjs" "$browser_dir/"
check "Chromium is installed at /usr/bin/chromium" test -x /usr/bin/chromium

# --- database, admin, data ------------------------------------------------
mf_fresh_db dashboard || bail "fresh database"
email="admin-$$@example.test"
password="correct horse battery $$"
printf '%s\n' "$password" |
    "$MF_BIN/metriflow-admin" user add "$email" --role admin \
        >"$T_OUT/admin.log" 2>&1 || bail "metriflow-admin user add"

xss_img='/<img src=x onerror=alert(1)>'
xss_script='/<script>window.__mf_xss=1;alert(2)</script>'
today=$(date -u +%F)
# Hours on the last 21 days, plus single days 45, 100, 200, 400 and 800 days
# ago, for five pages of site "default" and one of "shop.example"; then
# every level above the hour summed from it, as the pipeline would.
mf_sql "
INSERT INTO page (site, path) VALUES
  ('default', '/'), ('default', '/pricing'), ('default', '/blog/first-post'),
  ('default', \$p\$$xss_img\$p\$), ('default', \$p\$$xss_script\$p\$),
  ('shop.example', '/cart');
INSERT INTO agg_hour (page_id, hour, users, sessions, views, bounces,
    duration_s, psi_samples, performance_score_n, performance_score_sum,
    performance_score_min, performance_score_max, lcp_ms_n, lcp_ms_sum,
    lcp_ms_min, lcp_ms_max)
SELECT p.page_id, t.h, v.u, v.u + 2, 3 * v.u + p.page_id, v.u / 3,
       40 * v.u, 1, 1, v.sc, v.sc, v.sc, 1, v.lcp, v.lcp, v.lcp
FROM page p
CROSS JOIN (SELECT generate_series(0, 20) AS d UNION ALL
            VALUES (45), (100), (200), (400), (800)) AS days
CROSS JOIN (VALUES (3), (9), (14), (20)) AS hrs(hr)
CROSS JOIN LATERAL (SELECT ((DATE '$today' - days.d)::timestamp
    + make_interval(hours => hrs.hr)) AT TIME ZONE 'UTC' AS h) t
CROSS JOIN LATERAL (SELECT 5 + (p.page_id * 7 + days.d * 3 + hrs.hr) % 40 AS u,
    55 + (p.page_id * 11 + days.d) % 40 AS sc,
    1500 + (p.page_id * 313 + days.d * 71) % 3500 AS lcp) v;
" >/dev/null || bail "insert pages and hours"

sums="sum(users), sum(sessions), sum(views), sum(bounces), sum(duration_s),
  sum(psi_samples), sum(performance_score_n), sum(performance_score_sum),
  min(performance_score_min), max(performance_score_max), sum(lcp_ms_n),
  sum(lcp_ms_sum), min(lcp_ms_min), max(lcp_ms_max)"
cols="users, sessions, views, bounces, duration_s, psi_samples,
  performance_score_n, performance_score_sum, performance_score_min,
  performance_score_max, lcp_ms_n, lcp_ms_sum, lcp_ms_min, lcp_ms_max"
utc="(hour AT TIME ZONE 'UTC')"
mf_sql "
INSERT INTO agg_interval (page_id, day, interval, $cols)
  SELECT page_id, $utc::date, extract(hour FROM $utc)::int / 4 + 1, $sums
  FROM agg_hour GROUP BY 1, 2, 3;
INSERT INTO agg_day (page_id, day, $cols)
  SELECT page_id, $utc::date, $sums FROM agg_hour GROUP BY 1, 2;
INSERT INTO agg_month (page_id, month, $cols)
  SELECT page_id, date_trunc('month', $utc)::date, $sums
  FROM agg_hour GROUP BY 1, 2;
INSERT INTO agg_year (page_id, year, $cols)
  SELECT page_id, extract(year FROM $utc)::int, $sums
  FROM agg_hour GROUP BY 1, 2;
" >/dev/null || bail "sum the levels"
check_eq "the data set has 6 pages" 6 "$(mf_sql 'SELECT count(*) FROM page')"

# --- the API on a free port -------------------------------------------------
export METRIFLOW_JWT_SECRET
METRIFLOW_JWT_SECRET=$(head -c 48 /dev/urandom | base64 | tr -d '\n/+=')
METRIFLOW_WEB_ROOT=/nonexistent/web timeout 30 "$MF_BIN/metriflow-api" \
    --http-addr 127.0.0.1:0 >"$T_OUT/badroot.log" 2>&1
check_eq "a configured web root that does not exist stops the start" 1 "$?"
check "… and the log says why" \
    grep -q "cannot load the dashboard's files" "$T_OUT/badroot.log"

log=$T_OUT/api.log
: >"$log" # empty before the start, so no earlier run's port is read
# A 30-second access token makes the browser refresh it during the test.
"$MF_BIN/metriflow-api" --http-addr 127.0.0.1:0 --jwt-ttl 30 \
    --threads 2 >"$log" 2>&1 &
api_pid=$!
port=""
for _ in $(seq 1 100); do
    port=$(grep -m1 -oE 'msg="listening".*port=[0-9]+' "$log" | grep -oE '[0-9]+$')
    [ -n "$port" ] && break
    kill -0 "$api_pid" 2>/dev/null || break
    sleep 0.1
done
[ -n "$port" ] || { cat "$log" >&2; bail "metriflow-api did not start"; }
base=http://127.0.0.1:$port
ok "metriflow-api listens on port $port"

# --- the files, their headers and the refusals ------------------------------
hdrs() { curl -s -o /dev/null -D - "$@" | tr -d '\r'; }
has() { grep -qi "^$1" <<<"$2"; }
# csp_ok HEADERS: exactly one CSP, scripts only from 'self', no framing.
csp_ok() {
    local csp
    csp=$(grep -i '^content-security-policy:' <<<"$1")
    [ "$(grep -ci '^content-security-policy:' <<<"$1")" = 1 ] &&
        grep -q "script-src 'self';" <<<"$csp" &&
        ! grep -qE "script-src[^;]*unsafe" <<<"$csp" &&
        grep -q "frame-ancestors 'none'" <<<"$csp"
}
safety_ok() {
    has "x-content-type-options: nosniff" "$1" &&
        has "x-frame-options: deny" "$1" && has "referrer-policy: " "$1"
}
for path in / /index.html /docs /assets/app.js /assets/style.css \
    /assets/vendor/chart.min.js /assets/vendor/swagger-ui/swagger-ui-bundle.js; do
    h=$(hdrs "$base$path")
    case "$path" in
    *.js) want='text/javascript; charset=utf-8' ;;
    *.css) want='text/css; charset=utf-8' ;;
    *) want='text/html; charset=utf-8' ;;
    esac
    check_eq "GET $path answers 200" "200" "$(head -1 <<<"$h" | cut -d' ' -f2)"
    check_eq "GET $path has content type $want" "$want" \
        "$(grep -i '^content-type:' <<<"$h" | cut -d' ' -f2-)"
    check "GET $path: one CSP, script-src 'self' without 'unsafe-inline'" \
        csp_ok "$h"
    check "GET $path: nosniff, frame and referrer headers" safety_ok "$h"
done
h=$(hdrs "$base/assets/app.js")
etag=$(grep -i '^etag:' <<<"$h" | cut -d' ' -f2-)
check "assets carry an ETag and revalidate (no-cache)" \
    has "cache-control: no-cache" "$h"
check_eq "If-None-Match with the ETag answers 304" "304" \
    "$(curl -s -o /dev/null -w '%{http_code}' -H "If-None-Match: $etag" \
        "$base/assets/app.js")"
check "vendored files may be cached for a day" \
    has "cache-control: public, max-age=86400" \
    "$(hdrs "$base/assets/vendor/chart.min.js")"
refused() { [ "$1" = 404 ] && ! grep -q "root:" "$T_OUT/bad.body"; }
for bad in '/assets/../../../../etc/passwd' '/assets/%2e%2e/%2e%2e/etc/passwd' \
    '/assets/..%2f..%2fetc/passwd' '/assets/%252e%252e/index.html' \
    '/assets/.hidden' '/assets//app.js' \
    '/../index.html' '/index.html/..' '/assets/%5c..%5cindex.html'; do
    code=$(curl -s --path-as-is -o "$T_OUT/bad.body" -w '%{http_code}' \
        "$base$bad")
    check "GET $bad is refused with 404" refused "$code"
done
# A decoded NUL ends the path where it stands (libmicrohttpd), so this is
# at most app.js itself: never anything served as HTML.
check "GET /assets/app.js%00.html is never answered as HTML" \
    bash -c '! curl -s -o /dev/null -w "%{content_type}" "$0" | grep -qi html' \
    "$base/assets/app.js%00.html"
check_eq "POST / is not served" "405" \
    "$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/")"
h=$(hdrs "$base/api/v1/reports/summary")
check "API answers keep their own strict CSP" \
    has "content-security-policy: default-src 'none'" "$h"
check "API answers carry nosniff, frame and referrer headers" safety_ok "$h"

# --- what the API says, for the browser to compare ---------------------------
token=$(curl -s -X POST "$base/api/v1/auth/login" \
    -H 'Content-Type: application/json' \
    -d "$(jq -nc --arg e "$email" --arg p "$password" '{email:$e,password:$p}')" |
    jq -r .access_token)
[ -n "$token" ] && [ "$token" != null ] || bail "login with curl"
get() {
    curl -s -G -H "Authorization: Bearer $token" "$base/api/v1$1" "${@:2}"
}
range() { # NAME FROM TO: summary, pages by views and pages by users
    jq -n --argjson s "$(get /reports/summary -d site=default -d from="$2" -d to="$3")" \
        --argjson p "$(get /reports/pages -d site=default -d from="$2" -d to="$3" -d sort=views -d limit=50)" \
        --argjson u "$(get /reports/pages -d site=default -d from="$2" -d to="$3" -d sort=users -d limit=50)" \
        --arg from "$2" --arg to "$3" \
        '{from:$from, to:$to, summary:$s, pages:$p, pagesByUsers:$u}'
}
d() { date -u -d "$today $1" +%F; }
expect=$T_OUT/expect.json
last_day=$(get /reports/daily -d site=default --data-urlencode "page=$xss_script" \
    -d from="$(d '-29 days')" -d to="$today" | jq -r '.rows[-1].date')
pv() { get "$1" -d site=default --data-urlencode "page=$xss_script" "${@:2}"; }
jq -n \
    --argjson last30 "$(range last30 "$(d '-29 days')" "$today")" \
    --argjson last7 "$(range last7 "$(d '-6 days')" "$today")" \
    --argjson last12m "$(range last12m "$(date -u -d "$(date -u +%Y-%m-01) -11 months" +%F)" "$today")" \
    --argjson all "$(range all 2000-01-01 "$today")" \
    --argjson custom "$(range custom "$(d '-50 days')" "$(d '-3 days')")" \
    --argjson pipeline "$(get /pipeline)" \
    --argjson range "$(pv /reports/range -d from="$(d '-29 days')" -d to="$today")" \
    --argjson hourly "$(pv /reports/hourly -d date="$last_day")" \
    --argjson intervals "$(pv /reports/intervals -d date="$last_day")" \
    --arg day "$last_day" \
    --argjson paths "$(curl -s "$base/openapi.json" | jq '[.paths | keys[]]')" \
    '{last30:$last30, last7:$last7, last12m:$last12m, all:$all, custom:$custom,
      pipeline:$pipeline, openapiPaths:$paths,
      pageView:{range:$range, hourly:$hourly, intervals:$intervals, day:$day}}' \
    >"$expect" || bail "collect the API's answers"
check_eq "the API has traffic on 5 pages of site default in the last 30 days" \
    true "$(jq '.last30.summary.totals.views > 0 and
        (.last30.pages.rows | length) == 5' "$expect")"
check_eq "the markup paths are stored as they are" true \
    "$(jq --arg p "$xss_img" '[.last30.pages.rows[].path] | index($p) != null' \
        "$expect")"

# --- the browser ----------------------------------------------------------------
profile=$(mktemp -d /tmp/mf-chromium-XXXXXX)
shots=$T_OUT
MF_DASH_URL=$base MF_DASH_EMAIL=$email MF_DASH_PASSWORD=$password \
    MF_DASH_EXPECT=$expect MF_DASH_OUT=$shots MF_DASH_PROFILE=$profile \
    MF_DASH_XSS_PATHS=$(jq -nc --arg a "$xss_img" --arg b "$xss_script" '[$a,$b]') \
    timeout 300 node "$browser_dir/dashboard.mjs" >"$T_OUT/browser.log" 2>&1
rc=$?
while IFS= read -r line; do
    case "$line" in
    "PASS "*) ok "browser: ${line#PASS }" ;;
    "FAIL "*) not_ok "browser: ${line#FAIL }" ;;
    esac
done <"$T_OUT/browser.log"
check_eq "the browser run ended cleanly (see $T_OUT/browser.log)" 0 "$rc"
n=$(ls "$shots"/*.png 2>/dev/null | wc -l)
check "screenshots saved in $shots ($n)" test "$n" -ge 8

curl -s "$base/metrics" >"$T_OUT/metrics.txt"
check "/metrics counts the dashboard's files under route=\"dashboard\"" \
    grep -qE '^metriflow_api_requests_total\{route="dashboard",status="200"\} [1-9]' \
    "$T_OUT/metrics.txt"

kill "$api_pid" && wait "$api_pid"
check_eq "metriflow-api stops cleanly on SIGTERM" 0 "$?"
api_pid=""
no_errors() { ! grep -q "level=error" "$1"; }
check "the API logged no error" no_errors "$log"
mf_done
