#!/bin/sh
# SPDX-License-Identifier: ISC
#
# make fuzz: runs each libFuzzer harness (built by configure CC=clang
# --enable-fuzz) for SECONDS on a scratch copy of its seed corpus, so the
# source tree is never modified, with a memory and a per-input time
# limit.  Prints each target's last status line; on a crash keeps the
# scratch directory and names the input that crashed (copy it into
# tests/fuzz/TARGET/crash-WHAT, fix the bug, and make check replays it
# from then on).  Exits non-zero when any target crashed.
#
# usage: run.sh SRCDIR SECONDS TARGET...   (from the build directory)
set -u
srcdir=$1
seconds=$2
shift 2
failed=
for t in "$@"; do
	bin=tests/fuzz/fuzz_$t
	if [ ! -x "$bin" ]; then
		echo "fuzz: $bin is not built" \
		    "(configure CC=clang --enable-fuzz)" >&2
		exit 2
	fi
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/sonde-fuzz-$t.XXXXXX")
	mkdir "$scratch/corpus" "$scratch/crashes"
	cp "$srcdir/tests/fuzz/$t/"* "$scratch/corpus/"
	# config: libconfig 1.5 leaks on many broken files (suppressed),
	# and each leak makes libFuzzer scan a heap holding the CA store:
	# 300 inputs/s without the scan, 90 with.  Leaks there are still
	# caught by the replay under ASan (make check in the sanitizer build).
	leaks=1
	case $t in
	config)			dict=config.dict; leaks=0 ;;
	outbox|state|slo|incident) dict=json.dict ;;
	*)			dict= ;;
	esac
	[ -n "$dict" ] && dict="-dict=$srcdir/tests/fuzz/$dict"
	echo "fuzz: $t for ${seconds}s ($scratch)"
	# shellcheck disable=SC2086 # dict is one word or none
	"$bin" -max_total_time="$seconds" -rss_limit_mb=512 -timeout=10 \
	    -max_len=16384 -print_final_stats=1 -detect_leaks=$leaks \
	    -artifact_prefix="$scratch/crashes/" $dict \
	    "$scratch/corpus" </dev/null >"$scratch/log" 2>&1
	rc=$?
	# The log holds the inputs' bytes too: grep -a.
	grep -aE '^#[0-9]+[[:space:]]+(DONE|pulse|NEW|REDUCE)' "$scratch/log" | tail -1
	grep -aE '^stat::(number_of_executed|average_exec|peak_rss)' \
	    "$scratch/log"
	if [ "$rc" -ne 0 ] || [ -n "$(ls "$scratch/crashes")" ]; then
		echo "fuzz: $t FAILED (exit $rc); log and inputs in" \
		    "$scratch:" >&2
		ls "$scratch/crashes" >&2
		grep -aE 'ERROR|invariant broken|runtime error|SUMMARY' \
		    "$scratch/log" | head -5 >&2
		failed="$failed $t"
	else
		rm -rf "$scratch"
	fi
done
if [ -n "$failed" ]; then
	echo "fuzz: crashes in:$failed" >&2
	exit 1
fi
echo "fuzz: no crash in $*"
