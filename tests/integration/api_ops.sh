#!/usr/bin/env bash
# Operations routes over real HTTP: probes, Prometheus metrics, the OpenAPI
# description (fails when a routed path or method is missing from it),
# security headers and request ids on every answer, one access-log line per
# request, no secrets in the log, a clean stop on SIGTERM.
source "$MF_ROOT/tests/lib.sh"
source "$MF_ROOT/tests/api_helpers.sh"

mf_fresh_db api_ops || { not_ok "fresh database"; mf_done; exit 1; }
mk_user o@example.org viewer 'ops-password-1'

check_eq "--help exits 0" 0 "$("$MF_BIN/metriflow-api" --help >/dev/null 2>&1; echo $?)"
check_eq "an unknown flag exits 2" 2 "$("$MF_BIN/metriflow-api" --nope >/dev/null 2>&1; echo $?)"
check_eq "a short JWT secret is refused (exit 2)" 2 \
    "$(METRIFLOW_JWT_SECRET=short "$MF_BIN/metriflow-api" --http-addr 127.0.0.1:0 >/dev/null 2>&1; echo $?)"

api_start || { not_ok "api starts"; mf_done; exit 1; }
check_eq "healthz: 200" 200 "$(call GET /healthz)"
check_eq "  ok" ok "$(body_jq .status)"
check_eq "readyz: 200 ready" "200 ready up up" \
    "$(call GET /readyz) $(body_jq '.status + " " + .dependencies.postgresql + " " + .dependencies.redis')"

# --- OpenAPI: every routed path and method is described ---------------------
check_eq "openapi.json: 200" 200 "$(call GET /openapi.json)"
check_eq "  OpenAPI 3.1" 3.1.0 "$(body_jq .openapi)"
cp "$T_OUT/body" "$T_OUT/openapi.json"
"$MF_BIN/metriflow-api" --list-routes >"$T_OUT/routes"
check "  --list-routes lists routes" test "$(wc -l <"$T_OUT/routes")" -ge 18
missing=
while read -r method path; do
    m=$(echo "$method" | tr 'A-Z' 'a-z')
    jq -e --arg p "$path" --arg m "$m" '.paths[$p][$m].responses' "$T_OUT/openapi.json" >/dev/null ||
        missing="$missing $method:$path"
done <"$T_OUT/routes"
check_eq "every routed path and method is in /openapi.json" "" "$missing"
extra=$(jq -r '.paths | to_entries[] | .key as $p | .value | keys[] | "\(ascii_upcase) \($p)"' "$T_OUT/openapi.json" |
    sort | comm -23 - <(sort "$T_OUT/routes") | tr '\n' ' ')
check_eq "no described path is unrouted" "" "$extra"
check_eq "bearer security scheme" "http bearer JWT" \
    "$(jq -r '.components.securitySchemes.bearerAuth | [.type, .scheme, .bearerFormat] | join(" ")' "$T_OUT/openapi.json")"
check_eq "every \$ref resolves" "" \
    "$(jq -r '[.. | objects | .["$ref"]? // empty] | unique[]' "$T_OUT/openapi.json" | while read -r ref; do
        p=$(echo "$ref" | sed 's|^#/||; s|/|","|g'); jq -e "getpath([\"$p\"])" "$T_OUT/openapi.json" >/dev/null || echo -n "$ref "; done)"
check_eq "every query parameter of /reports/range described" "from page site to" \
    "$(jq -r '.paths["/api/v1/reports/range"].get.parameters[]["$ref"]' "$T_OUT/openapi.json" |
        sed 's|#/components/parameters/||' | while read -r p; do jq -r ".components.parameters[\"$p\"].name" "$T_OUT/openapi.json"; done | sort | tr '\n' ' ' | sed 's/ $//')"

# --- headers on every kind of answer -----------------------------------------
TOKEN=$(login o@example.org 'ops-password-1')
for what in "200 /healthz" "404 /nope" "401 /api/v1/pages" "400 /api/v1/pages?limit=x" "405 /readyz"; do
    set -- $what
    if [ "$2" = /readyz ]; then st=$(call POST /readyz); else st=$(get "$2"); fi
    [ "$2" = /api/v1/pages ] && st=$(call GET /api/v1/pages)
    check_eq "$2: status $1" "$1" "$st"
    check_eq "  nosniff" nosniff "$(header X-Content-Type-Options)"
    check_eq "  frame denied" DENY "$(header X-Frame-Options)"
    check_eq "  no-store" no-store "$(header Cache-Control)"
    check "  CSP" test -n "$(header Content-Security-Policy)"
    ID=$(header X-Request-Id)
    check "  request id $ID in the access log" grep -q "req=$ID msg=\"request\".* status=$1 " "$API_LOG"
done
call GET /nope >/dev/null
check_eq "404 is a problem" "application/problem+json 404" "$(header Content-Type) $(body_jq .status)"
check_eq "RateLimit headers on a limited route" 1 \
    "$(get /api/v1/pages >/dev/null; test -n "$(header RateLimit-Limit)" && test -n "$(header RateLimit-Reset)" && echo 1)"
check_eq "RateLimit headers on a 401 of a limited route (the address pays)" 1 \
    "$(call GET /api/v1/pages >/dev/null; test -n "$(header RateLimit-Remaining)" && echo 1)"
check_eq "no RateLimit headers on probes" "" "$(call GET /healthz >/dev/null; header RateLimit-Limit)"

# --- metrics ---------------------------------------------------------------------
call GET /metrics >/dev/null
check_eq "metrics: text format" "text/plain; version=0.0.4; charset=utf-8" "$(header Content-Type)"
check "  requests by route and status" grep -q '^metriflow_api_requests_total{route="/healthz",status="200"} [1-9]' "$T_OUT/body"
check "  unmatched routes counted" grep -q '^metriflow_api_requests_total{route="unmatched",status="404"} [1-9]' "$T_OUT/body"
check "  latency histogram" grep -q '^metriflow_api_request_duration_seconds_bucket{route="/healthz",le="+Inf"} [1-9]' "$T_OUT/body"
check "  cache counters" grep -q '^metriflow_api_cache_misses_total ' "$T_OUT/body"
check "  rate-limited counter" grep -q '^metriflow_api_rate_limited_total ' "$T_OUT/body"
check "  every sample line parses" bash -c "grep -v '^#' '$T_OUT/body' | grep -vqE '^[a-z_]+(\{[^}]*\})? [0-9.e+-]+$' && exit 1 || exit 0"

# --- the log ---------------------------------------------------------------------
before=$(grep -c 'msg="request"' "$API_LOG")
call GET /healthz >/dev/null
call GET /healthz >/dev/null
sleep 0.2
check_eq "one access-log line per request" $((before + 2)) "$(grep -c 'msg="request"' "$API_LOG")"
check "no JWT secret in the log" bash -c "! grep -qF '$METRIFLOW_JWT_SECRET' '$API_LOG'"
check "no password in the log" bash -c "! grep -q 'ops-password-1' '$API_LOG'"
check "no access token in the log" bash -c "! grep -qF '$TOKEN' '$API_LOG'"
api_stop
check_eq "SIGTERM: exit 0" 0 "$?"
check "  stopped logged" grep -q 'msg="stopped"' "$API_LOG"
# Without PostgreSQL: alive, not ready, reports answer 503.
DEAD_PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
api_start --pg-url "postgresql://nobody@127.0.0.1:$DEAD_PORT/none?connect_timeout=2" || not_ok "api starts without PostgreSQL"
check_eq "no PostgreSQL: healthz 200" 200 "$(call GET /healthz)"
check_eq "no PostgreSQL: readyz 503 unavailable" "503 unavailable down" \
    "$(call GET /readyz) $(body_jq '.status + " " + .dependencies.postgresql')"
check_eq "no PostgreSQL: login 503 problem" "503 urn:metriflow:problem:unavailable" \
    "$(call POST /api/v1/auth/login -d '{"email":"o@example.org","password":"ops-password-1"}') $(body_jq .type)"
check "  logged without the password" bash -c "grep -q 'cannot connect to PostgreSQL' '$API_LOG' && ! grep -q 'nobody@' '$API_LOG'"
# A valid token (signed here with the secret): the range route's deferred
# page lookup answers 503 too, and the server goes on.
NOW=$(date +%s)
FORGED=$(forge HS256 "$METRIFLOW_JWT_SECRET" "$(jq -nc --argjson now "$NOW" \
    '{sub:"1", role:"viewer", iss:"metriflow", aud:"metriflow-api",
      iat:$now, exp:($now + 600), jti:"ops"}')")
check_eq "no PostgreSQL: range 503 problem" "503 urn:metriflow:problem:unavailable" \
    "$(call GET "/api/v1/reports/range?page=/a&from=2024-01-01&to=2024-01-02" -H "Authorization: Bearer $FORGED") $(body_jq .type)"
check_eq "  twice (the lookup thread goes on)" 503 \
    "$(call GET "/api/v1/reports/range?page=/a&from=2024-01-01&to=2024-01-02" -H "Authorization: Bearer $FORGED")"
check "  logged by the lookup thread" grep -qE 'cannot connect to PostgreSQL.* lookups=1 ' "$API_LOG"
api_stop
check "  stops cleanly" test $? -eq 0
check "  no sanitizer report" bash -c "! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error' '$T_OUT'/api.*.log"
mf_done
