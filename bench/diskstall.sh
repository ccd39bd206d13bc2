#!/bin/bash
# SPDX-License-Identifier: ISC
# bench/diskstall.sh: how long durable writes hold the event loop.  A
# benchmark, not a test: it reports figures.
#
#   bench/diskstall.sh SONDE [SONDE_B]      e.g. build-old/sonde build/sonde
#
# Environment: N (failing checks, default 1500), RUNS (default 3; medians
# with min-max), SECS (run length, default 12), STATE_PARENT (where the
# state_dirs go, default $TMPDIR or /tmp: put it on the disk state_dir
# uses; tmpfs makes fsync free).
#
# Each run: one real sonde with N tcp checks against a closed loopback
# port (interval 1s, timeout 300ms, digest off: one record per alert), a
# rule that fires after 2 failures and notifies a Slack channel whose
# webhook is a closed loopback port (so all N records are written and
# retried, never delivered), for SECS
# seconds, then SIGTERM; the storm of N firings comes at about 2 s.
# Reported per binary: lag_max_ms and lag_p99_ms of sonde's event=stopped
# line, and, from one more run under strace -f -T -e fsync, fsync calls
# on the loop thread (the pid) and on other threads, with the time they
# took (on the loop thread, the time the loop could do nothing else) and
# the longest one.  Loopback only; every loop is bounded.
set -euo pipefail

[ $# -ge 1 ] || { echo "usage: bench/diskstall.sh SONDE [SONDE_B]" >&2
	exit 2; }
N=${N:-1500}
RUNS=${RUNS:-3}
SECS=${SECS:-12}
T=$(mktemp -d "${STATE_PARENT:-${TMPDIR:-/tmp}}/sonde-diskstall.XXXXXX")
PID=
cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null || true
		sleep 2
		kill -KILL "$PID" 2>/dev/null || true
	fi
	rm -rf "$T"
}
trap cleanup EXIT

closed_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0));
print(s.getsockname()[1]); s.close()'
}

# conf FILE STATE: writes the config.
conf() {
	local i port hook
	port=$(closed_port)
	hook=$(closed_port)
	echo "http://127.0.0.1:$hook/hook" > "$T/slack.url"
	chmod 600 "$T/slack.url"
	{
		echo "agent: { name = \"stall\"; state_dir = \"$2\";" \
		    "max_in_flight = 1024; digest_window = \"0s\"; };"
		echo 'defaults: { interval = "1s"; timeout = "300ms"; };'
		echo "channels = { slack = {" \
		    "webhook_url_file = \"$T/slack.url\"; }; };"
		echo 'checks = ('
		for i in $(seq "$N"); do
			[ "$i" -gt 1 ] && echo ','
			echo "{ name = \"c$i\"; type = \"tcp\";" \
			    "host = \"127.0.0.1\"; port = $port; }"
		done
		echo ');'
		echo 'rules = ( { name = "down"; checks = ["*"];' \
		    'when = "failed"; fire_after = 2; notify = ["slack"]; } );'
	} > "$1"
}

# run SONDE [strace]: one run; prints the event=stopped line.
run() {
	local st="$T/state.$RANDOM" i
	conf "$T/c.conf" "$st"
	if [ "${2:-}" = strace ]; then
		strace -f -T -e trace=fsync,fdatasync -o "$T/strace" \
		    "$1" -c "$T/c.conf" > /dev/null 2> "$T/log" &
	else
		"$1" -c "$T/c.conf" > /dev/null 2> "$T/log" &
	fi
	PID=$!
	sleep 1
	# Under strace, the loop thread is strace's child, sonde's own pid.
	pgrep -P "$PID" > "$T/mainpid" || echo "$PID" > "$T/mainpid"
	sleep $((SECS - 1))
	kill -TERM "$(cat "$T/mainpid")"
	for i in $(seq 100); do
		kill -0 "$PID" 2>/dev/null || break
		sleep 0.1
	done
	wait "$PID" || true
	PID=
	grep 'event=stopped' "$T/log" || echo "no event=stopped line"
	rm -rf "$st"
}

med() {
	sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "?"; exit }
	    printf "%s (min %s, max %s)", v[int((NR + 1) / 2)], v[1], v[NR] }'
}

echo "N=$N failing checks, $RUNS runs of ${SECS}s each, state on" \
    "$(df -T "$T" | awk 'NR==2{print $2}'), $(nproc) CPUs"
for bin in "$@"; do
	: > "$T/lines"
	for r in $(seq "$RUNS"); do
		run "$bin" >> "$T/lines"
	done
	echo "== $bin"
	echo "  lag_max_ms  $(grep -o 'lag_max_ms=[0-9.]*' "$T/lines" |
	    cut -d= -f2 | med)"
	echo "  lag_p99_ms  $(grep -o 'lag_p99_ms=[0-9.]*' "$T/lines" |
	    cut -d= -f2 | med)"
	run "$bin" strace > /dev/null
	# strace -o lines: "PID fsync(FD) = 0 <SECONDS>"; the loop thread's
	# id is the process id.
	awk -v main="$(cat "$T/mainpid")" '/fsync\(/ {
		    t = $NF; gsub(/[<>]/, "", t)
		    if ($1 == main) { n++; sum += t; if (t > mx) mx = t }
		    else { o++; osum += t } }
	    END { f = "  fsync on the loop thread %d (%.0f ms in all, "
		f = f "longest %.1f ms), on other threads %d (%.0f ms)"
		printf f " (under strace)\n", n, sum * 1000, mx * 1000, o,
		    osum * 1000 }' "$T/strace"
	echo "  load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
done
