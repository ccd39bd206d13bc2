#!/bin/sh
# SPDX-License-Identifier: ISC
#
# valgrind.sh: the LOG_COMPILER of `make check-valgrind`.  Runs one test
# program under memcheck, one log file per process in $SONDE_VALGRIND_DIR
# (named after the test, so the summary can say which test failed), and
# points SONDE_BIN at valgrind-sonde.sh so that the sonde binary the
# end-to-end tests start runs under memcheck as well.
#
# Check forks every test (CK_FORK=yes, its default); memcheck follows a
# fork without any option, so each test's child process is checked on its
# own and exits with SONDE_VALGRIND_EXIT on an error or a leak, which Check
# reports as that test's failure ("early exit with return value").  Exec'd
# programs are not traced here (--trace-children=no): the servers the
# tests start (nginx, knotd, rsyslogd, openssl, prometheus, chromium...)
# are not sonde's code; sonde itself is wrapped through SONDE_BIN.
set -eu

: "${SONDE_VALGRIND_DIR:?set by make check-valgrind}"
: "${SONDE_VALGRIND_EXIT:=99}"
: "${SONDE_VALGRIND:=valgrind}"
here=$(cd "$(dirname "$0")" && pwd)
test_name=$(basename "$1")

# Everything slows down 10-50x under memcheck: stretch the tests' real-time
# bounds (testutil.c) and Check's per-test timeouts, never their checks.
: "${SONDE_TEST_TIMESCALE:=20}"
: "${CK_TIMEOUT_MULTIPLIER:=$SONDE_TEST_TIMESCALE}"
export SONDE_TEST_TIMESCALE CK_TIMEOUT_MULTIPLIER
# A failure message longer than Check's default 4 KB makes Check exit 2
# ("Message string too long") and hides it; keep the long ones readable.
: "${CK_MAX_MSG_SIZE:=65536}"
export CK_MAX_MSG_SIZE

if [ -n "${SONDE_BIN:-}" ]; then
	SONDE_VALGRIND_REAL_BIN=$SONDE_BIN
	SONDE_BIN=$here/valgrind-sonde.sh
	export SONDE_VALGRIND_REAL_BIN SONDE_BIN
fi
SONDE_VALGRIND_TEST=$test_name
export SONDE_VALGRIND_TEST SONDE_VALGRIND_DIR SONDE_VALGRIND_EXIT

exec $SONDE_VALGRIND --tool=memcheck --leak-check=full \
    --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible \
    --error-exitcode="$SONDE_VALGRIND_EXIT" --num-callers=30 \
    --track-fds=yes --trace-children=no \
    --suppressions="$here/valgrind.supp" \
    --log-file="$SONDE_VALGRIND_DIR/$test_name.%p.log" \
    "$@"
