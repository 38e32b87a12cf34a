#!/usr/bin/env bash
# Authentication over real HTTP: registration modes and roles, login that
# answers an unknown email and a wrong password alike, refresh rotation and
# reuse revoking the family, logout, forged and expired tokens, throttled
# password guessing, and oversized or malformed bodies.
source "$MF_ROOT/tests/lib.sh"
source "$MF_ROOT/tests/api_helpers.sh"

mf_fresh_db api_auth || { not_ok "fresh database"; mf_done; exit 1; }
check "admin user add" mk_user Admin@Example.org admin 'admin-password-1'
check_eq "admin user add stores the email lower-cased" "admin@example.org admin" \
    "$(mf_sql "SELECT email || ' ' || role FROM app_user")"
check_eq "password stored as an Argon2id hash" 1 \
    "$(mf_sql "SELECT count(*) FROM app_user WHERE password_hash LIKE '\$argon2id\$%'")"
echo short | "$MF_BIN/metriflow-admin" user add x@example.org --role viewer >/dev/null 2>&1
check_eq "admin user add refuses a short password" 1 $?
echo 'long-enough-pw' | "$MF_BIN/metriflow-admin" user add admin@example.org --role viewer >/dev/null 2>&1
check_eq "admin user add refuses a taken email" 1 $?
echo 'long-enough-pw' | "$MF_BIN/metriflow-admin" user add x@example.org --role root >/dev/null 2>&1
check_eq "admin user add refuses an unknown role" 2 $?

# /auth/* limits are generous here; the throttling test has its own server.
api_start --burst-auth 1000 --rate-auth 100 || { not_ok "api starts"; mf_done; exit 1; }
post() { call POST "$1" -H 'Content-Type: application/json' "${@:3}" --data-binary "$2"; }

# --- registration (mode admin) -------------------------------------------
check_eq "register without a token: 401" 401 \
    "$(post /api/v1/auth/register '{"email":"v@example.org","password":"viewer-password-1"}')"
ADMIN=$(login admin@example.org 'admin-password-1')
check "admin logs in" test -n "$ADMIN"
check_eq "admin registers a viewer" 201 \
    "$(post /api/v1/auth/register '{"email":"V@example.org","password":"viewer-password-1"}' -H "Authorization: Bearer $ADMIN")"
check_eq "  answer" "v@example.org viewer true" "$(body_jq '[.email, .role, (.id > 0)] | map(tostring) | join(" ")')"
check_eq "same email again: 409" 409 \
    "$(post /api/v1/auth/register '{"email":"v@example.org","password":"viewer-password-1"}' -H "Authorization: Bearer $ADMIN")"
check_eq "password of 9 characters: 400" 400 \
    "$(post /api/v1/auth/register '{"email":"w@example.org","password":"123456789"}' -H "Authorization: Bearer $ADMIN")"
check_eq "  names password" password "$(body_jq .field)"
check_eq "bad email: 400" 400 \
    "$(post /api/v1/auth/register '{"email":"not-an-email","password":"viewer-password-1"}' -H "Authorization: Bearer $ADMIN")"
check_eq "  names email" email "$(body_jq .field)"
VIEWER=$(login v@example.org 'viewer-password-1')
check "viewer logs in" test -n "$VIEWER"
check_eq "a viewer may not register users: 403" 403 \
    "$(post /api/v1/auth/register '{"email":"w@example.org","password":"viewer-password-1"}' -H "Authorization: Bearer $VIEWER")"
check_eq "admin registers an admin" 201 \
    "$(post /api/v1/auth/register '{"email":"a2@example.org","password":"admin-password-2","role":"admin"}' -H "Authorization: Bearer $ADMIN")"
check_eq "  role admin" admin "$(body_jq .role)"
check_eq "access token claims" "viewer metriflow metriflow-api 900 true" \
    "$(echo "$VIEWER" | cut -d. -f2 | tr '_-' '/+' | base64 -d 2>/dev/null | jq -r '[.role, .iss, .aud, (.exp - .iat), (.jti | length > 0)] | map(tostring) | join(" ")')"

# --- login answers alike ----------------------------------------------------
st1=$(post /api/v1/auth/login '{"email":"v@example.org","password":"wrong-password-1"}')
b1=$(jq -c 'del(.request_id)' "$T_OUT/body")
st2=$(post /api/v1/auth/login '{"email":"nobody@example.org","password":"wrong-password-1"}')
b2=$(jq -c 'del(.request_id)' "$T_OUT/body")
check_eq "wrong password: 401" 401 "$st1"
check_eq "unknown email: 401" 401 "$st2"
check_eq "wrong password and unknown email: same body" "$b1" "$b2"
check_eq "login body of the wrong type: 400" 400 "$(post /api/v1/auth/login '{"email":"v@example.org","password":5}')"

# --- tokens on a protected route ---------------------------------------------
R="/api/v1/reports/summary?from=2024-01-01&to=2024-01-02"
check_eq "no token: 401" 401 "$(call GET "$R")"
check_eq "  WWW-Authenticate" 'Bearer realm="metriflow"' "$(header WWW-Authenticate)"
check_eq "valid token: 200" 200 "$(call GET "$R" -H "Authorization: Bearer $VIEWER")"
check_eq "Basic scheme: 401" 401 "$(call GET "$R" -H "Authorization: Basic $VIEWER")"

NOW=$(date +%s)
claims() { # claims [overrides as jq]: a viewer's claims, valid now
    jq -nc --argjson now "$NOW" "{sub:\"2\", role:\"viewer\", iss:\"metriflow\",
        aud:\"metriflow-api\", iat:\$now, exp:(\$now + 600), jti:\"t1\"} ${1:+| $1}"
}
KEY=$METRIFLOW_JWT_SECRET
refused() { # refused "what" TOKEN
    check_eq "$1: 401" 401 "$(call GET "$R" -H "Authorization: Bearer $2")"
    check_eq "  $1: problem" "urn:metriflow:problem:unauthorized" "$(body_jq .type)"
}
check_eq "a forged token with the right key passes (the forge works)" 200 \
    "$(call GET "$R" -H "Authorization: Bearer $(forge HS256 "$KEY" "$(claims)")")"
check_eq "  aud as an array passes" 200 \
    "$(call GET "$R" -H "Authorization: Bearer $(forge HS256 "$KEY" "$(claims '.aud = ["x", "metriflow-api"]')")")"
refused "alg none" "$(forge none "" "$(claims)")"
refused "alg none without the final dot" "$(forge none "" "$(claims)" | sed 's/\.$//')"
refused "wrong key" "$(forge HS256 "another-secret-of-at-least-32-bytes!!" "$(claims)")"
refused "HS512 with the right key" "$(forge HS512 "$KEY" "$(claims)")"
refused "HS384 with the right key" "$(forge HS384 "$KEY" "$(claims)")"
refused "expired" "$(forge HS256 "$KEY" "$(claims '.exp = ($now - 120) | .iat = ($now - 800)')")"
refused "no exp" "$(forge HS256 "$KEY" "$(claims 'del(.exp)')")"
refused "exp as a string" "$(forge HS256 "$KEY" "$(claims '.exp = (.exp | tostring)')")"
refused "wrong aud" "$(forge HS256 "$KEY" "$(claims '.aud = "someone-else"')")"
refused "no aud" "$(forge HS256 "$KEY" "$(claims 'del(.aud)')")"
refused "wrong iss" "$(forge HS256 "$KEY" "$(claims '.iss = "evil"')")"
refused "issued in the future" "$(forge HS256 "$KEY" "$(claims '.iat = ($now + 3600) | .exp = ($now + 4000)')")"
refused "not valid before later" "$(forge HS256 "$KEY" "$(claims '.nbf = ($now + 3600)')")"
TAMPERED=$(echo "$VIEWER" | cut -d. -f1).$(claims '.role = "admin"' | base64 -w0 | tr '+/' '-_' | tr -d '=').$(echo "$VIEWER" | cut -d. -f3)
refused "tampered claims (role admin, old signature)" "$TAMPERED"
refused "garbage" "not.a.token"
refused "oversized token" "$(head -c 6000 /dev/zero | tr '\0' a)"
check_eq "tampered admin token cannot register" 401 \
    "$(post /api/v1/auth/register '{"email":"t@example.org","password":"viewer-password-1"}' -H "Authorization: Bearer $TAMPERED")"

# --- refresh rotation, reuse, logout -----------------------------------------
post /api/v1/auth/login '{"email":"v@example.org","password":"viewer-password-1"}' >/dev/null
R1=$(body_jq .refresh_token)
check_eq "login answer" "Bearer 900 43" "$(body_jq '[.token_type, .expires_in, (.refresh_token | length)] | map(tostring) | join(" ")')"
check_eq "refresh token stored only as a hash" 0 \
    "$(mf_sql "SELECT count(*) FROM refresh_token WHERE encode(token_hash, 'escape') LIKE '%$R1%' OR length(token_hash) <> 32")"
check_eq "refresh: 200" 200 "$(post /api/v1/auth/refresh "{\"refresh_token\":\"$R1\"}")"
R2=$(body_jq .refresh_token)
A2=$(body_jq .access_token)
check "  a new refresh token" test -n "$R2" -a "$R2" != "$R1"
check_eq "  a working access token" 200 "$(call GET "$R" -H "Authorization: Bearer $A2")"
check_eq "refresh with R2: 200" 200 "$(post /api/v1/auth/refresh "{\"refresh_token\":\"$R2\"}")"
R3=$(body_jq .refresh_token)
check_eq "reuse of rotated R1: 401" 401 "$(post /api/v1/auth/refresh "{\"refresh_token\":\"$R1\"}")"
check_eq "  the family is revoked: R3 no longer works" 401 "$(post /api/v1/auth/refresh "{\"refresh_token\":\"$R3\"}")"
check_eq "  every token of the family revoked" 0 \
    "$(mf_sql "SELECT count(*) FROM refresh_token WHERE revoked_at IS NULL AND family_id = (SELECT family_id FROM refresh_token WHERE parent_hash IS NULL ORDER BY issued_at DESC LIMIT 1)")"
check "  reuse logged" grep -q 'refresh token reused' "$API_LOG"
post /api/v1/auth/login '{"email":"v@example.org","password":"viewer-password-1"}' >/dev/null
L1=$(body_jq .refresh_token)
LA=$(body_jq .access_token)
check_eq "logout needs a token" 401 "$(post /api/v1/auth/logout "{\"refresh_token\":\"$L1\"}")"
check_eq "logout: 204" 204 "$(post /api/v1/auth/logout "{\"refresh_token\":\"$L1\"}" -H "Authorization: Bearer $LA")"
check_eq "  logged-out token cannot refresh" 401 "$(post /api/v1/auth/refresh "{\"refresh_token\":\"$L1\"}")"
check_eq "unknown refresh token: 401" 401 "$(post /api/v1/auth/refresh '{"refresh_token":"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"}')"
check_eq "refresh with an extra field: 400" 400 "$(post /api/v1/auth/refresh "{\"refresh_token\":\"x\",\"a\":1}")"

# --- bodies --------------------------------------------------------------------
head -c 20000 /dev/zero | tr '\0' a >"$T_OUT/big"
check_eq "20 KB body: 413" 413 "$(call POST /api/v1/auth/login -H 'Content-Type: application/json' --data-binary @"$T_OUT/big")"
check_eq "  problem" "urn:metriflow:problem:body-too-large" "$(body_jq .type)"
check_eq "20 KB chunked body: 413" 413 "$(call POST /api/v1/auth/login -H 'Transfer-Encoding: chunked' --data-binary @"$T_OUT/big")"
check_eq "malformed JSON: 400" 400 "$(post /api/v1/auth/login '{"email":')"
check_eq "  problem+json" application/problem+json "$(header Content-Type)"
check_eq "JSON array: 400" 400 "$(post /api/v1/auth/login '["a"]')"
check_eq "duplicate keys: 400" 400 "$(post /api/v1/auth/login '{"email":"v@example.org","email":"x@example.org","password":"viewer-password-1"}')"
check_eq "empty body: 400" 400 "$(post /api/v1/auth/login '')"
check_eq "NUL escape in a string: 400" 400 "$(post /api/v1/auth/login '{"email":"v\u0000@example.org","password":"viewer-password-1"}')"
check_eq "quotes and SQL in the email: 401, not an error" 401 \
    "$(post /api/v1/auth/login "{\"email\":\"x'or'1'='1@example.org\",\"password\":\"' OR 1=1 --x\"}")"
check_eq "wrong method: 405" 405 "$(call GET /api/v1/auth/login)"
check_eq "  Allow" POST "$(header Allow)"
check "api stops cleanly" api_stop

# --- open registration ---------------------------------------------------------
api_start --registration open --burst-auth 1000 --rate-auth 100 || not_ok "api starts (open)"
check_eq "open registration without a token: 201" 201 \
    "$(post /api/v1/auth/register '{"email":"open@example.org","password":"open-password-1"}')"
check_eq "  as a viewer" viewer "$(body_jq .role)"
check_eq "open registration may not choose admin: 403" 403 \
    "$(post /api/v1/auth/register '{"email":"open2@example.org","password":"open-password-1","role":"admin"}')"
check "api stops cleanly (open)" api_stop

# --- throttled password guessing -------------------------------------------------
api_start --burst-auth 5 --rate-auth 0.01 || not_ok "api starts (throttled)"
codes=
for i in 1 2 3 4 5 6 7; do
    codes="$codes $(post /api/v1/auth/login "{\"email\":\"v@example.org\",\"password\":\"guess-number-$i\"}")"
done
check_eq "7 guesses: 5 answered, then 429" " 401 401 401 401 401 429 429" "$codes"
check_eq "  Retry-After of about 100 s" 1 "$(r=$(header Retry-After); [ "$r" -ge 90 ] && [ "$r" -le 101 ] && echo 1)"
check_eq "  RateLimit-Limit" 5 "$(header RateLimit-Limit)"
check_eq "  RateLimit-Remaining" 0 "$(header RateLimit-Remaining)"
check "  RateLimit-Reset present" test -n "$(header RateLimit-Reset)"
check_eq "  even the right password waits" 429 \
    "$(post /api/v1/auth/login '{"email":"v@example.org","password":"viewer-password-1"}')"
check "  counted in /metrics" bash -c "curl -s $API/metrics | grep -q '^metriflow_api_rate_limited_total [1-9]'"
check "api stops cleanly (throttled)" api_stop
mf_done
