#!/bin/sh
# bench/slo.sh: what SLOs cost the daemon, and what sonde report costs.
# Not a test.
#
# Runs the built sonde twice per round against a loopback sink: once with
# no slo blocks (the default "down" rule only: the baseline), once with
# slo = { objective = 99.9; window = "30d"; } on every check, which adds
# the counting, the two workbook burn-rate rules per check (slo_page,
# slo_ticket) and the minute's save of slo.json.  A tenth of the checks
# point at a closed port, so budgets burn and pages fire.  Over a steady
# window it reads sonde's utime+stime from /proc/PID/stat and VmHWM; at
# SIGTERM the summary line.  Then it times sonde report (table and JSON)
# on the state dir left by the last SLO run.  Prints each run and medians.
#
#   bench/slo.sh [path/to/sonde]
#   env: CHECKS=1000 SECS=10 RUNS=3 WARM=3
set -eu
BIN=${1:-./sonde}
CHECKS=${CHECKS:-1000}
SECS=${SECS:-10}
RUNS=${RUNS:-3}
WARM=${WARM:-3}
TCK=$(getconf CLK_TCK)
tmp=$(mktemp -d /tmp/sonde-bench-slo.XXXXXX)
trap 'kill $sink 2>/dev/null; rm -rf "$tmp"' EXIT INT TERM

# bench/tcp_sink (make bench/tcp_sink): holds each connection until the
# probe closes it, and prints its port first.
"$(dirname "$BIN")/bench/tcp_sink" > "$tmp/port" &
sink=$!
while [ ! -s "$tmp/port" ]; do sleep 0.1; done
port=$(grep -o '[0-9][0-9]*' "$tmp/port" | head -1)
closed=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')

conf() {	# $1: text inside each check block
	{
		printf 'agent = { name = "bench"; state_dir = "%s/state"; };\n' "$tmp"
		printf 'defaults = { interval = "1s"; timeout = "500ms"; };\n'
		printf 'checks = (\n'
		i=0
		while [ $i -lt "$CHECKS" ]; do
			p=$port
			[ $((i % 10)) -eq 9 ] && p=$closed
			[ $i -gt 0 ] && printf ',\n'
			printf '  { name = "c%d"; type = "tcp"; host = "127.0.0.1"; port = %d; %s }' $i $p "$1"
			i=$((i + 1))
		done
		printf '\n);\n'
	} > "$tmp/sonde.conf"
}

cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

run() {	# $1: label; prints "label us_per_probe hwm_kb lag_p99 pages"
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
	pages=$(grep -c 'alert=slo_page/[^ ]* state=firing' "$tmp/log" || true)
	awk -v l="$1" -v d=$((c1 - c0)) -v t="$TCK" -v n="$CHECKS" -v s="$SECS" \
	    -v h="$hwm" -v p="$p99" -v f="$pages" 'BEGIN {
		printf "%s %.2f %d %s %d\n", l, d * 1e6 / t / (n * s), h, p, f }'
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

ms() { python3 -c 'import time; print(int(time.monotonic() * 1000))'; }

echo "# $CHECKS tcp checks every 1s, window ${SECS}s after ${WARM}s, $RUNS rounds"
echo "# variant cpu_us_per_probe vmhwm_kb lag_p99_ms slo_pages"
: > "$tmp/res"
r=0
while [ $r -lt "$RUNS" ]; do
	conf ''; run none | tee -a "$tmp/res"
	conf 'slo = { objective = 99.9; window = "30d"; };'
	run slo | tee -a "$tmp/res"
	r=$((r + 1))
done
for v in none slo; do
	us=$(awk -v v=$v '$1 == v { print $2 }' "$tmp/res" | median)
	kb=$(awk -v v=$v '$1 == v { print $3 }' "$tmp/res" | median)
	lo=$(awk -v v=$v '$1 == v { print $2 }' "$tmp/res" | sort -n | head -1)
	hi=$(awk -v v=$v '$1 == v { print $2 }' "$tmp/res" | sort -n | tail -1)
	echo "median $v: ${us} us CPU per probe (range $lo-$hi), VmHWM ${kb} kB"
done
kn=$(awk '$1 == "none" { print $3 }' "$tmp/res" | median)
ks=$(awk '$1 == "slo" { print $3 }' "$tmp/res" | median)
echo "VmHWM difference: $((ks - kn)) kB for $CHECKS SLO checks" \
    "($(( (ks - kn) * 1024 / CHECKS )) bytes each; the store is 7968)"
echo "slo.json: $(wc -c < "$tmp/state/slo.json") bytes;" \
    "incidents.jsonl: $(wc -l < "$tmp/state/incidents.jsonl") lines"
for mode in "" "--json"; do
	: > "$tmp/rt"
	r=0
	while [ $r -lt 5 ]; do
		t0=$(ms)
		"$BIN" report --state-dir "$tmp/state" $mode > /dev/null 2>&1
		t1=$(ms)
		echo $((t1 - t0)) >> "$tmp/rt"
		r=$((r + 1))
	done
	echo "sonde report ${mode:-(table)} on $CHECKS checks: median" \
	    "$(median < "$tmp/rt") ms wall (5 runs, incl. process start)"
done
