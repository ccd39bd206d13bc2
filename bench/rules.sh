#!/bin/sh
# bench/rules.sh: what rule evaluation costs the daemon.  Not a test.
#
# Runs the built sonde twice per round against a loopback sink: once with
# a rule that matches no check (no alerts: the baseline), once with three
# rules on every check (the default "down" rule, a hysteresis metric rule,
# and a 3-of-5 rule with depends_on; a tenth of the checks point at a
# closed port so alerts really fire).  Over a steady window it reads
# sonde's utime+stime from /proc/PID/stat and VmHWM, and at SIGTERM the
# summary line (probes, lag).  Prints each run and the medians.
#
#   bench/rules.sh [path/to/sonde]
#   env: CHECKS=1000 SECS=10 RUNS=3 WARM=3
set -eu
BIN=${1:-./sonde}
CHECKS=${CHECKS:-1000}
SECS=${SECS:-10}
RUNS=${RUNS:-3}
WARM=${WARM:-3}
TCK=$(getconf CLK_TCK)
tmp=$(mktemp -d /tmp/sonde-bench-rules.XXXXXX)
trap 'kill $sink 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM

# bench/tcp_sink (make bench/tcp_sink): holds each connection until the
# probe closes it, and prints its port first.
"$(dirname "$BIN")/bench/tcp_sink" > "$tmp/port" &
sink=$!
while [ ! -s "$tmp/port" ]; do sleep 0.1; done
port=$(grep -o '[0-9][0-9]*' "$tmp/port" | head -1)
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

conf() {	# $1: rules text
	{
		printf 'agent = { name = "bench"; state_dir = "%s/state"; };\n' "$tmp"
		printf 'defaults = { interval = "1s"; timeout = "500ms"; };\n'
		printf 'checks = (\n'
		i=0
		while [ $i -lt "$CHECKS" ]; do
			p=$port
			[ $((i % 10)) -eq 9 ] && p=$closed
			[ $i -gt 0 ] && printf ',\n'
			printf '  { name = "c%d"; type = "tcp"; host = "127.0.0.1"; port = %d; }' $i $p
			i=$((i + 1))
		done
		printf '\n);\n%s\n' "$1"
	} > "$tmp/sonde.conf"
}

NONE='rules = ( { name = "none"; checks = ["no-such-check"]; } );'
FULL='rules = (
  { name = "down"; fire_after = 3; resolve_after = 2; },
  { name = "slow"; metric = "duration"; above = "200ms"; clear_below = "100ms"; },
  { name = "flaky"; fire_after = 3; of_last = 5; depends_on = ["c0"]; }
);'

cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

run() {	# $1: label; prints "label us_per_probe hwm_kb lag_p99 alerts"
	rm -rf "$tmp/state"
	"$BIN" -c "$tmp/sonde.conf" 2> "$tmp/log" &
	pid=$!
	sleep "$WARM"
	c0=$(cpu $pid)
	sleep "$SECS"
	c1=$(cpu $pid)
	hwm=$(awk '/VmHWM/ { print $2 }' "/proc/$pid/status")
	kill -TERM $pid
	wait $pid || true
	p99=$(sed -n 's/.*event=stopped.* lag_p99_ms=\([0-9.]*\).*/\1/p' "$tmp/log")
	fired=$(grep -c 'state=firing' "$tmp/log" || true)
	awk -v l="$1" -v d=$((c1 - c0)) -v t="$TCK" -v n="$CHECKS" -v s="$SECS" \
	    -v h="$hwm" -v p="$p99" -v f="$fired" 'BEGIN {
		printf "%s %.2f %d %s %d\n", l, d * 1e6 / t / (n * s), h, p, f }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "# $CHECKS tcp checks every 1s, window ${SECS}s after ${WARM}s, $RUNS rounds"
echo "# variant cpu_us_per_probe vmhwm_kb lag_p99_ms firing_lines"
: > "$tmp/res"
r=0
while [ $r -lt "$RUNS" ]; do
	conf "$NONE"; run none | tee -a "$tmp/res"
	conf "$FULL"; run rules | tee -a "$tmp/res"
	r=$((r + 1))
done
for v in none rules; do
	us=$(awk -v v=$v '$1 == v { print $2 }' "$tmp/res" | median)
	kb=$(awk -v v=$v '$1 == v { print $3 }' "$tmp/res" | median)
	lo=$(awk -v v=$v '$1 == v { print $2 }' "$tmp/res" | sort -n | head -1)
	hi=$(awk -v v=$v '$1 == v { print $2 }' "$tmp/res" | sort -n | tail -1)
	echo "median $v: ${us} us CPU per probe (range $lo-$hi), VmHWM ${kb} kB"
done
