#!/usr/bin/env bash
# mf_amqp against the real RabbitMQ: confirms, consuming, acks, retries,
# dead letters, the delivery limit and reconnects (tests/unit/test_amqp.c
# run with --broker on a fresh vhost).
source "$MF_ROOT/tests/lib.sh"

mf_fresh_vhost amqp || { not_ok "fresh vhost"; mf_done; exit 1; }
out=$T_OUT/broker.tap
CMOCKA_MESSAGE_OUTPUT=TAP "$MF_BIN/../tests/test_amqp" --broker >"$out" 2>"$T_OUT/broker.err"
rc=$?
# Forward the cmocka results as our own checks.
while IFS= read -r line; do
    case "$line" in
    "ok "*) ok "${line#ok * - }" ;;
    "not ok "*) not_ok "${line#not ok * - }" ;;
    esac
done <"$out"
check_eq "broker tests exit status" 0 "$rc"
mf_done
