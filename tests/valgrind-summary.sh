#!/bin/sh
# SPDX-License-Identifier: ISC
#
# valgrind-summary.sh DIR [SRCDIR]: the summary of `make check-valgrind`.
# Reads the per-process memcheck logs that valgrind.sh and valgrind-sonde.sh
# left in DIR (TEST.PID.log, TEST.sonde.PID.log) and prints, for every
# process that had an error or a leak, the test, the command, each error's
# first line and the first frame in sonde's code, then a count.  A
# descriptor that sonde itself opened and still held at exit counts as an
# error too.  Exits 1 when any
# process had one, 0 when none did, 2 when DIR holds no log at all (the
# run did not happen, which must not pass as clean).
set -eu

dir=${1:?usage: valgrind-summary.sh DIR [SRCDIR]}
srcdir=${2:-$(dirname "$0")/..}
# sonde's own source files, to tell its frames from the libraries' ones.
ours=$(cd "$srcdir" && ls src/*.c checks/*.c alerts/*.c tests/*.c |
    sed 's|.*/||' | tr '\n' ' ')
set -- "$dir"/*.log
[ -e "$1" ] || { echo "valgrind: no log in $dir" >&2; exit 2; }

awk -v ours="$ours" '
BEGIN {
	# Paragraphs of the log that are not errors.
	notanerror = "^(HEAP SUMMARY|LEAK SUMMARY|ERROR SUMMARY|" \
	    "in use at exit|total heap usage|Memcheck|Copyright|" \
	    "Using Valgrind|Command|Parent PID|All heap blocks|For lists|" \
	    "To see them|Open |FILE DESCRIPTORS|Process terminating|" \
	    "If you believe|possibly|still reachable|definitely|" \
	    "indirectly|suppressed|Rerun with|Use --)"
	n = split(ours, o, " ")
	for (i = 1; i <= n; i++)
		own[o[i]] = 1
}
function flush() {
	if (file == "")
		return
	if (!summary)
		noreport++	# became another program (exec), or SIGKILL
	else
		nproc++
	errs += fderrs
	if (errs > 0) {
		bad++
		name = file
		sub(/.*\//, "", name)
		sub(/\.[0-9]+\.log$/, "", name)
		printf("FAIL %s (pid %s): %d error(s): %s\n", name, pid, errs,
		    cmd)
		printf("%s", detail)
		if (indirect > 0)
			printf("    and %d block(s) lost only through those\n",
			    indirect)
	}
}
FNR == 1 {
	flush()
	file = FILENAME; cmd = ""; detail = ""; head = ""; frame = ""
	errs = 0; fderrs = 0; indirect = 0; summary = 0
}
/^--[0-9]+--/ { next }	# notes from valgrind itself, not errors
{
	pid = $1
	gsub(/=/, "", pid)
	line = $0
	sub(/^==[0-9]+== ?/, "", line)
}
line ~ /^Command: / { cmd = substr(line, 10) }
line ~ /^ERROR SUMMARY: / { errs = $4 + 0; summary = 1 }
# An error block: a headline, then "at"/"by" frames, then a blank line.
line == "" {
	# A descriptor that sonde opened and still held at exit (the
	# inherited ones belong to the test harness).
	if (head ~ /^Open / && file ~ /\.sonde\./ && !inherited) {
		fderrs++
		where = frame != "" ? frame : "(no frame in sonde code)"
		detail = detail sprintf("    left open at exit: %s\n" \
		    "        %s\n", substr(head, 6), where)
	}
	inherited = 0
	if (head != "" && head !~ notanerror && head !~ /^   /) {
		if (head ~ /are indirectly lost in loss record/)
			indirect++	# reached only through a lost block
		else
			detail = detail sprintf("    %s\n        %s\n", head,
			    frame != "" ? frame : "(no frame in sonde code)")
	}
	head = ""; frame = ""
	next
}
head == "" || line ~ /^Open / {
	head = line; frame = ""; inherited = 0
	next
}
line ~ /inherited from parent/ { inherited = 1 }
# The first frame in one of the files of sonde names the culprit.
frame == "" && match(line, /\([A-Za-z_0-9]+\.c:[0-9]+\)$/) {
	src = substr(line, RSTART + 1, RLENGTH - 2)
	sub(/:.*/, "", src)
	if ((src in own) && src != "xmalloc.c")
		frame = line
}
END {
	flush()
	printf("valgrind: %d process(es) checked, %d with errors or leaks" \
	    " (%d more logs without a report: exec or SIGKILL)\n", nproc, bad,
	    noreport)
	exit bad > 0 ? 1 : 0
}
' "$@"
