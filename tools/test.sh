#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Sets up and runs every test: installs the Debian packages, builds in
# build/ and runs `make check` (cmocka unit tests + integration tests that
# start sluiced).  With --sanitizers, also builds in build-san/ with ASan and
# UBSan and runs the whole `make check` there again (the integration tests
# then drive a sanitizer build of sluiced), and the connection tracker's
# unit tests under ThreadSanitizer.  Prints "N passed, N failed" at the end.
# Also runs each fuzz target briefly (tools/fuzz) when clang is present.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
san=0
for a in "$@"; do
    case "$a" in
        --sanitizers) san=1 ;;
        *) echo "usage: $0 [--sanitizers]" >&2; exit 2 ;;
    esac
done

bash tools/install-deps.sh
if [ -f config.status ]; then
    echo "test.sh: the source tree is configured in place; run" \
         "'make distclean' first (builds go to build/)" >&2
    exit 2
fi
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi >/dev/null

status=0
summary() {   # $1 = build dir: counts from the test logs
    /usr/bin/python3 "$top/tools/test-summary.py" "$1"
}

mkdir -p build
(cd build && { [ -f Makefile ] || ../configure -q; } && make -j2 >/dev/null \
    && make -j2 check) || status=1
if [ $status -ne 0 ]; then
    for f in build/tests/*.log build/tests/integration/*.log; do
        [ -f "$f" ] || continue
        if grep -qE "^(FAIL|ERROR)" "${f%.log}.trs" 2>/dev/null; then
            echo "==== $f ===="; tail -n 80 "$f"
        fi
    done
fi
summary build || true

# Fuzzing: `make check` above replayed every seed and regression input;
# here each libFuzzer target also runs briefly (SLUICE_FUZZ_SECS each,
# default 25; 0 skips).  Needs clang; new crashes are kept in
# tests/fuzz/regressions/ and fail the run.
fuzz_secs=${SLUICE_FUZZ_SECS:-25}
if [ "$fuzz_secs" -gt 0 ] && command -v clang >/dev/null; then
    echo "fuzz: each target for $fuzz_secs s"
    bash tools/fuzz -t "$fuzz_secs" -B build || status=1
elif [ "$fuzz_secs" -gt 0 ]; then
    echo "fuzz: clang not found; skipped (seeds were replayed)"
fi

if [ $san -eq 1 ]; then
    mkdir -p build-san
    (cd build-san && { [ -f Makefile ] || ../configure -q --enable-sanitizers; } \
        && make -j2 >/dev/null \
        && ASAN_OPTIONS=detect_leaks=1 make -j2 check) \
        || status=1
    if [ $status -ne 0 ]; then
        for f in build-san/tests/*.log; do
            if grep -qE "^(FAIL|ERROR)" "${f%.log}.trs" 2>/dev/null; then
                echo "==== $f ===="; tail -n 80 "$f"
            fi
        done
    fi
    echo "sanitizers:"; summary build-san || true
    # The connection tracker's thread tests under ThreadSanitizer (the
    # tracker is shared by every PMD without a global lock).
    if gcc -fsanitize=thread -g -O1 -Iflowtable -Itests \
            tests/test-conntrack.c tests/pkt-build.c flowtable/conntrack.c \
            flowtable/ct-tcp.c flowtable/ct-nat.c flowtable/flow.c \
            flowtable/util.c -lcmocka -lpthread -o build-san/tsan-conntrack \
            2>build-san/tsan-conntrack.build.log \
        && TSAN_OPTIONS=halt_on_error=1 build-san/tsan-conntrack \
            >build-san/tsan-conntrack.log 2>&1; then
        echo "tsan: test-conntrack: PASS"
    else
        echo "tsan: test-conntrack: FAIL"; tail -n 60 build-san/tsan-conntrack.log
        status=1
    fi
fi
exit $status
