# Helpers for the API integration tests (tests/integration/api_*.sh):
# start and stop metriflow-api, users, tokens and HTTP calls with curl.
# Source after tests/lib.sh.

API_PID=
API=
API_LOG=

# api_start [FLAGS...]: starts metriflow-api on a free port with a Redis
# key prefix of its own; sets API (base URL), API_PID and API_LOG.
api_start() {
    API_LOG=$T_OUT/api.$((${API_N:=0} + 1)).log
    API_N=$((API_N + 1))
    "$MF_BIN/metriflow-api" --http-addr 127.0.0.1:0 \
        --redis-prefix "mft:$T_NAME:$$:$API_N:" "$@" >"$API_LOG" 2>&1 &
    API_PID=$!
    local i port=
    for i in $(seq 1 100); do
        port=$(grep -oE 'msg="listening".* port=[0-9]+' "$API_LOG" 2>/dev/null |
            grep -oE 'port=[0-9]+' | head -1 | cut -d= -f2)
        [ -n "$port" ] && break
        kill -0 "$API_PID" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$port" ]; then
        diag "metriflow-api did not start:"
        sed 's/^/# /' "$API_LOG" >&2
        return 1
    fi
    API=http://127.0.0.1:$port
}

# api_stop: SIGTERM and wait; returns the exit status.
api_stop() {
    [ -n "$API_PID" ] || return 0
    kill -TERM "$API_PID" 2>/dev/null
    local rc=0
    wait "$API_PID" || rc=$?
    API_PID=
    return $rc
}

# mk_user EMAIL ROLE PASSWORD: creates a user with metriflow-admin.
mk_user() {
    echo "$3" | "$MF_BIN/metriflow-admin" user add "$1" --role "$2" \
        >>"$T_OUT/admin.log" 2>&1
}

# login EMAIL PASSWORD: prints the access token (empty on failure).
login() {
    curl -s -X POST "$API/api/v1/auth/login" \
        -H 'Content-Type: application/json' \
        -d "{\"email\":\"$1\",\"password\":\"$2\"}" | jq -r '.access_token // empty'
}

# call METHOD PATH [curl args...]: prints the body to $T_OUT/body, the
# headers to $T_OUT/headers and the status on standard output.
call() {
    local m=$1 p=$2; shift 2
    curl -s -o "$T_OUT/body" -D "$T_OUT/headers" -w '%{http_code}' \
        -X "$m" "$API$p" "$@"
}

# get PATH: GET with the bearer token in TOKEN.
get() { call GET "$1" -H "Authorization: Bearer $TOKEN"; }

# header NAME: a header of the last answer (value only, no CR).
header() { grep -i "^$1:" "$T_OUT/headers" | head -1 | cut -d' ' -f2- | tr -d '\r'; }

# body_jq FILTER: jq on the last body.
body_jq() { jq -r "$1" "$T_OUT/body"; }

# forge ALG KEY CLAIMS-JSON: a token signed (or not) as told.
forge() {
    python3 - "$@" <<'PY'
import base64, hashlib, hmac, json, sys
alg, key, claims = sys.argv[1], sys.argv[2].encode(), sys.argv[3]
b64 = lambda b: base64.urlsafe_b64encode(b).rstrip(b"=").decode()
head = b64(json.dumps({"alg": alg, "typ": "JWT"}).encode())
body = b64(claims.encode())
msg = (head + "." + body).encode()
if alg == "none":
    sig = ""
else:
    h = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    sig = b64(hmac.new(key, msg, h).digest())
print(head + "." + body + "." + sig)
PY
}

trap 'api_stop >/dev/null 2>&1 || true' EXIT
