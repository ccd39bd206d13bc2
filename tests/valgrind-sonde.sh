#!/bin/sh
# SPDX-License-Identifier: ISC
#
# valgrind-sonde.sh: stands in for the sonde binary (SONDE_BIN) during
# `make check-valgrind`.  The end-to-end tests exec it with sonde's own
# arguments; it execs the real binary ($SONDE_VALGRIND_REAL_BIN) under
# memcheck with the same options as valgrind.sh, logging to
# TEST.sonde.PID.log so the summary names the test that started it.  A
# leak or an error makes sonde exit with SONDE_VALGRIND_EXIT, which the
# test sees as a wrong exit status.  sonde execs nothing, so following
# children (--trace-children=yes) costs nothing and would catch one.
set -eu

: "${SONDE_VALGRIND_REAL_BIN:?set by tests/valgrind.sh}"
: "${SONDE_VALGRIND_DIR:?set by tests/valgrind.sh}"
: "${SONDE_VALGRIND_TEST:=sonde}"
: "${SONDE_VALGRIND_EXIT:=99}"
: "${SONDE_VALGRIND:=valgrind}"
here=$(cd "$(dirname "$0")" && pwd)

exec $SONDE_VALGRIND --tool=memcheck --leak-check=full \
    --show-leak-kinds=definite,indirect,possible \
    --errors-for-leak-kinds=definite,indirect,possible \
    --error-exitcode="$SONDE_VALGRIND_EXIT" --num-callers=30 \
    --track-fds=yes --trace-children=yes \
    --suppressions="$here/valgrind.supp" \
    --log-file="$SONDE_VALGRIND_DIR/$SONDE_VALGRIND_TEST.sonde.%p.log" \
    "$SONDE_VALGRIND_REAL_BIN" "$@"
