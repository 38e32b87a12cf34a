#!/usr/bin/env bash
# tools/install-deps: finds exactly the missing packages and prints the
# apt-get line for them (never installing anything in this test: a fake
# dpkg-query on PATH decides what is "installed").
source "$MF_ROOT/tests/lib.sh"

DEPS=$MF_ROOT/tools/install-deps
FAKE=$T_OUT/fakebin
mkdir -p "$FAKE"
# The fake reports every package installed except those in $MISSING.
cat >"$FAKE/dpkg-query" <<'SH'
#!/bin/sh
pkg=$(eval echo "\${$#}")
for m in $MISSING; do
    [ "$m" = "$pkg" ] && { echo "unknown ok not-installed"; exit 0; }
done
echo "install ok installed"
SH
chmod 755 "$FAKE/dpkg-query"
chmod 755 "$T_OUT" "$FAKE"

out=$(PATH=$FAKE:$PATH MISSING="" "$DEPS" --print)
check_eq "nothing missing: exit 0" 0 $?
check "nothing missing: says so" grep -q "all [0-9]* packages are installed" <<<"$out"

out=$(PATH=$FAKE:$PATH MISSING="redis-server libjwt-dev" "$DEPS" --print)
check_eq "--print with missing packages: exit 0" 0 $?
check_eq "--print prints the apt-get line for exactly the missing ones" \
    "apt-get install -y --no-install-recommends redis-server libjwt-dev" "$out"

out=$(PATH=$FAKE:$PATH MISSING="libcmocka-dev" "$DEPS" --print)
check "a test tool is not needed without --dev" grep -q "all [0-9]* packages are installed" <<<"$out"
out=$(PATH=$FAKE:$PATH MISSING="libcmocka-dev" "$DEPS" --dev --print)
check_eq "--dev adds the test tools" \
    "apt-get install -y --no-install-recommends libcmocka-dev" "$out"

# Not root: print the line to run and exit 1, install nothing.
if id nobody >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    runuser -u nobody -- env PATH="$FAKE:$PATH" MISSING="redis-server" \
        "$DEPS" >"$T_OUT/nonroot.out" 2>&1
    check_eq "not root with missing packages: exit 1" 1 $?
    check "not root: prints the apt-get line to run as root" \
        grep -q "apt-get update && apt-get install -y --no-install-recommends redis-server" "$T_OUT/nonroot.out"
fi

"$DEPS" --bogus >/dev/null 2>&1
check_eq "an unknown option: exit 2" 2 $?
"$DEPS" --help >"$T_OUT/help.out" 2>&1
check_eq "--help: exit 0" 0 $?
check "--help describes the options" grep -q -- "--dev" "$T_OUT/help.out"

mf_done
