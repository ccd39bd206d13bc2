#!/bin/bash
# SPDX-License-Identifier: ISC
#
# bench/netconn.sh: the cost of a tcp probe, two sonde binaries side by
# side in the same run (BEFORE and AFTER a change to the connection code,
# e.g. the netconn refactor), interleaved so that load from elsewhere on
# the machine hits both alike.  Each run starts RATE tcp checks at a 1 s
# interval against one loopback listener (a python accept-and-close loop
# in its own process), to 127.0.0.1 literals (the hot path: no resolver).
#
# Reports per binary: probes/s, CPU microseconds per probe of sonde's own
# process (utime+stime from /proc/PID/stat over a steady window), peak RSS
# (VmHWM), the schedule lag and failures from sonde's event=stopped line;
# and, once per binary, the system calls per probe counted by strace -c
# over a short window (the "same syscalls" check).  Medians over RUNS, with
# the min-max spread.
#
# usage: bench/netconn.sh [--quick] BEFORE AFTER [RATE [SECONDS [RUNS]]]
#        (defaults 500 10 5; --quick: 300 4 3)
# Only loopback traffic; every load loop is bounded in count and time.
set -euo pipefail

QUICK=0
if [ "${1:-}" = "--quick" ]; then QUICK=1; shift; fi
BEFORE=${1:?usage: bench/netconn.sh [--quick] BEFORE AFTER [RATE [SECONDS [RUNS]]]}
AFTER=${2:?usage: bench/netconn.sh [--quick] BEFORE AFTER [RATE [SECONDS [RUNS]]]}
if [ "$QUICK" = 1 ]; then
	RATE=${3:-300}; SECS=${4:-4}; RUNS=${5:-3}
else
	RATE=${3:-500}; SECS=${4:-10}; RUNS=${5:-5}
fi
WARMUP=2
TCK=$(getconf CLK_TCK)

for bin in "$BEFORE" "$AFTER"; do
	[ -x "$bin" ] || { echo "bench: $bin is not an executable" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/sonde-bench-netconn.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# The sink: accept and close, forever (killed by PID at exit).
cat > "$tmp/sink.py" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(4096)
print(s.getsockname()[1], flush=True)
while True:
    c, _ = s.accept()
    c.close()
EOF
python3 "$tmp/sink.py" > "$tmp/sink.port" &
pids+=($!)
for _ in $(seq 100); do [ -s "$tmp/sink.port" ] && break; sleep 0.05; done
PORT=$(cat "$tmp/sink.port")

{
	printf 'agent: { name = "bench"; state_dir = "%s"; ' "$tmp"
	printf 'max_in_flight = %d; };\nchecks = (\n' $((RATE * 2))
	for i in $(seq "$RATE"); do
		printf '  { name = "t%d"; type = "tcp"; host = "127.0.0.1";' "$i"
		printf ' port = %d; interval = "1s"; timeout = "900ms"; }%s\n' \
		    "$PORT" "$([ "$i" -lt "$RATE" ] && echo ,)"
	done
	printf ');\n'
} > "$tmp/sonde.conf"
"$AFTER" -t -c "$tmp/sonde.conf" >/dev/null

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hwm_kb() { awk '/VmHWM/ { print $2 }' "/proc/$1/status"; }

# The window: perf's task-clock (ns precision: a clock tick is 10 ms,
# i.e. 2 us per probe at 500/s over 10 s) when perf can attach, else sleep.
window() {
	if [ "$PERF" = 1 ]; then
		perf stat -x, -e task-clock -p "$1" -o "$tmp/perf.out" \
		    -- sleep "$SECS" 2>/dev/null
		awk -F, -v n=$((RATE * SECS)) '$3 == "task-clock" {
		    printf "%.1f", $1 * 1000 / n }' "$tmp/perf.out"
	else
		sleep "$SECS"; echo "-"
	fi
}
PERF=0
if command -v perf >/dev/null && perf stat -e task-clock -- true \
    >/dev/null 2>&1; then PERF=1; fi

# One run of one binary:
# "probes/s cpu_us/probe hwm_kb lag_p99_ms failed task_clock_us/probe".
run_one() {
	local bin=$1 pid c0 c1 hwm stop p99 failed tc
	"$bin" -f -c "$tmp/sonde.conf" 2> "$tmp/sonde.log" &
	pid=$!
	sleep "$WARMUP"
	c0=$(cpu_ticks "$pid")
	tc=$(window "$pid")
	c1=$(cpu_ticks "$pid")
	hwm=$(hwm_kb "$pid")
	kill -TERM "$pid"
	wait "$pid" || true
	stop=$(grep -o 'event=stopped.*' "$tmp/sonde.log" | tail -1)
	p99=$(echo "$stop" | sed -E 's/.*lag_p99_ms=([0-9.]+).*/\1/')
	failed=$(echo "$stop" | sed -E 's/.* failed=([0-9]+).*/\1/')
	echo "$RATE $(( (c1 - c0) * 1000000 / TCK / (RATE * SECS) )) $hwm $p99 $failed $tc"
}

# System calls per probe over a 3 s window, by name.
syscalls_per_probe() {
	local bin=$1 pid spid
	"$bin" -f -c "$tmp/sonde.conf" 2> "$tmp/sonde.log" &
	pid=$!
	sleep "$WARMUP"
	strace -c -q -p "$pid" -o "$tmp/strace.out" &
	spid=$!
	sleep 3
	kill -INT "$spid"; wait "$spid" 2>/dev/null || true
	kill -TERM "$pid"; wait "$pid" || true
	awk -v n=$((RATE * 3)) '$NF ~ /^[a-z_0-9]+$/ && $4 ~ /^[0-9]+$/ &&
	    $NF != "total" { printf "%s=%.2f ", $NF, $4 / n }
	    END { print "" }' "$tmp/strace.out"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] " (" v[1] "-" v[NR] ")" }'; }
med() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

echo "bench/netconn.sh: rate=$RATE/s window=${SECS}s runs=$RUNS, tcp checks to 127.0.0.1:$PORT (literal), close=reset"
echo "before: $BEFORE"
echo "after:  $AFTER"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); cores: $(nproc)"
: > "$tmp/r.before"; : > "$tmp/r.after"
for r in $(seq "$RUNS"); do
	b=$(run_one "$BEFORE"); echo "run $r before: $b"; echo "$b" >> "$tmp/r.before"
	a=$(run_one "$AFTER"); echo "run $r after:  $a"; echo "$a" >> "$tmp/r.after"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "medians (min-max) over $RUNS runs:"
echo "          probes/s      cpu_us/probe     task_clock_us/probe  peak_rss_kb           lag_p99_ms          failed"
for t in before after; do
	printf '%-9s %-13s %-16s %-20s %-21s %-19s %s\n' "$t" \
	    "$(cut -d' ' -f1 "$tmp/r.$t" | median)" \
	    "$(cut -d' ' -f2 "$tmp/r.$t" | median)" \
	    "$(cut -d' ' -f6 "$tmp/r.$t" | median)" \
	    "$(cut -d' ' -f3 "$tmp/r.$t" | median)" \
	    "$(cut -d' ' -f4 "$tmp/r.$t" | median)" \
	    "$(cut -d' ' -f5 "$tmp/r.$t" | median)"
done
mb=$(cut -d' ' -f2 "$tmp/r.before" | med)
ma=$(cut -d' ' -f2 "$tmp/r.after" | med)
echo
echo "ratio after/before cpu per probe (/proc ticks): $(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%.2f", a / b }')"
if [ "$PERF" = 1 ]; then
	mb=$(cut -d' ' -f6 "$tmp/r.before" | med)
	ma=$(cut -d' ' -f6 "$tmp/r.after" | med)
	echo "ratio after/before cpu per probe (task-clock): $(awk -v a="$ma" -v b="$mb" 'BEGIN { printf "%.3f", a / b }')"
fi
if command -v strace >/dev/null; then
	echo
	echo "system calls per probe (strace -c, 3 s window):"
	echo "before: $(syscalls_per_probe "$BEFORE")"
	echo "after:  $(syscalls_per_probe "$AFTER")"
fi
