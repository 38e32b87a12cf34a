#!/usr/bin/env bash
# tools/metriflow-local on a private instance (own directory, own ports):
# up --services-only twice, status with live pids, env, psql, down.
# Never touches the shared stack the other tests use.
source "$MF_ROOT/tests/lib.sh"

export MF_LOCAL_DIR=$T_OUT/stack MF_PG_PORT=21432 MF_AMQP_PORT=21672 \
    MF_REDIS_PORT=22379 MF_HTTP_PORT=22080
LOCAL=$MF_ROOT/tools/metriflow-local
rm -rf "$MF_LOCAL_DIR"

# Whatever happens, leave nothing of the private instance running.
trap '"$LOCAL" down >/dev/null 2>&1 || true' EXIT

# logged LOG CMD...: runs CMD with its output in LOG.
logged() { local log=$1; shift; "$@" >"$log" 2>&1; }

# pid_of NAME: the pid column of NAME in `status`, "-" when stopped.
pid_of() { "$LOCAL" status | awk -v n="$1" '$1 == n { print $2 }'; }
state_of() { "$LOCAL" status | awk -v n="$1" '$1 == n { print $3 }'; }

check "up --services-only starts the services" \
    logged "$T_OUT/up1.log" "$LOCAL" up --services-only
declare -A pid
for s in postgresql rabbitmq redis; do
    pid[$s]=$(pid_of $s)
    check_eq "status: $s running" running "$(state_of $s)"
    check "status: $s has a live pid (${pid[$s]})" kill -0 "${pid[$s]}"
done
check_eq "status: the daemons are not started by --services-only" stopped \
    "$(state_of api)"
check "postgresql runs as an unprivileged user" \
    [ "$(ps -o uid= -p "${pid[postgresql]}" | tr -d ' ')" != 0 ]

check "up --services-only again succeeds" \
    logged "$T_OUT/up2.log" "$LOCAL" up --services-only
for s in postgresql rabbitmq redis; do
    check_eq "the second up keeps $s (same pid)" "${pid[$s]}" "$(pid_of $s)"
done

# A service that died is started again by the next up; the others stay.
kill "${pid[redis]}"
for _ in $(seq 50); do kill -0 "${pid[redis]}" 2>/dev/null || break; sleep 0.1; done
check_eq "status: redis stopped after it was killed" stopped "$(state_of redis)"
check "up --services-only restarts what died" \
    logged "$T_OUT/up3.log" "$LOCAL" up --services-only
check_eq "status: redis running again" running "$(state_of redis)"
check "... with a new live pid" bash -c "p=\$('$LOCAL' status | awk '\$1==\"redis\"{print \$2}'); [ \"\$p\" != '${pid[redis]}' ] && kill -0 \"\$p\""
check_eq "... and postgresql kept its pid" "${pid[postgresql]}" "$(pid_of postgresql)"
pid[redis]=$(pid_of redis)

"$LOCAL" env >"$T_OUT/env.sh"
for v in METRIFLOW_PG_URL METRIFLOW_AMQP_URL METRIFLOW_REDIS_URL \
    METRIFLOW_HTTP_ADDR METRIFLOW_JWT_SECRET METRIFLOW_REGISTRATION \
    METRIFLOW_LOG; do
    check "env exports $v" grep -q "^export $v='..*'$" "$T_OUT/env.sh"
done
check_eq "env prints nothing else" 7 "$(grep -vc '^$' "$T_OUT/env.sh")"
(
    # shellcheck disable=SC1091
    . "$T_OUT/env.sh"
    check "the PostgreSQL URL uses the private port" grep -q ":21432/" <<<"$METRIFLOW_PG_URL"
    check "the AMQP URL uses the private port" grep -q ":21672/" <<<"$METRIFLOW_AMQP_URL"
    check "the Redis URL uses the private port" grep -q ":22379/" <<<"$METRIFLOW_REDIS_URL"
    check_eq "the API address uses the private port" 127.0.0.1:22080 "$METRIFLOW_HTTP_ADDR"
    check "the JWT secret has at least 32 bytes" [ ${#METRIFLOW_JWT_SECRET} -ge 32 ]
    check_eq "psql through the exported URL" 42 \
        "$(psql "$METRIFLOW_PG_URL" -qAtX -c 'SELECT 42')"
    pw=${METRIFLOW_REDIS_URL#redis://:}
    pw=${pw%%@*}
    check_eq "redis answers with the exported password" PONG \
        "$(redis-cli -h 127.0.0.1 -p 22379 -a "$pw" --no-auth-warning ping)"
    check "rabbitmq accepts AMQP connections on its port" \
        bash -c "exec 3<>/dev/tcp/127.0.0.1/21672"
) | tee "$T_OUT/env_checks.tap"
T_N=$((T_N + $(grep -cE '^(ok|not ok) ' "$T_OUT/env_checks.tap")))
T_FAIL=$((T_FAIL + $(grep -c '^not ok ' "$T_OUT/env_checks.tap")))
check_eq "metriflow-local psql runs a query" 7 \
    "$("$LOCAL" psql -qAtX -c 'SELECT 3 + 4')"
check "an unknown command exits 2" bash -c "'$LOCAL' frobnicate 2>/dev/null; [ \$? -eq 2 ]"

check "down succeeds" logged "$T_OUT/down.log" "$LOCAL" down
for s in postgresql rabbitmq redis; do
    check "down stopped $s (pid ${pid[$s]} gone)" bash -c "! kill -0 ${pid[$s]} 2>/dev/null"
    check_eq "status: $s stopped" stopped "$(state_of $s)"
done
check "down again is harmless" logged "$T_OUT/down2.log" "$LOCAL" down

mf_done
