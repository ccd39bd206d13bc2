#!/bin/bash
# bench/outbox.sh: the cost of durable alert delivery (src/outbox.c with
# the Slack channel).  A benchmark, not a test: it reports figures.
#
#   bench/outbox.sh [BUILD_DIR]        (default: ./build)
#
# Environment: N (notifications per run, default 2000), RUNS (default 5;
# medians reported with min-max), STATE (directory for the outboxes,
# default BUILD_DIR/bench-outbox: put it on the disk state_dir will use,
# since fsync is most of the cost and tmpfs makes it free).
#
# Each run (bench/outbox_bench): spool N notifications with nothing
# sending (each: JSON record, temp file, fsync, rename, fsync of the dir),
# timing each; reopen the outbox (the restart path: N records read back);
# deliver all N to a local keep-alive HTTP sink on 127.0.0.1 that answers
# 200 "ok", one send in flight (the outbox's rule).  CPU is the bench
# process's utime+stime (getrusage) per phase; the sink is not counted.
set -euo pipefail

BUILD=${1:-./build}
N=${N:-2000}
RUNS=${RUNS:-5}
STATE=${STATE:-$BUILD/bench-outbox}
make -C "$BUILD" -s bench/outbox_bench >/dev/null

out=$(mktemp)
trap 'rm -f "$out"; rm -rf "$STATE"' EXIT
for r in $(seq "$RUNS"); do
	rm -rf "$STATE"; mkdir -p "$STATE"
	"$BUILD"/bench/outbox_bench "$N" "$STATE" 2>/dev/null | tee -a "$out"
done
echo "filesystem of $STATE: $(df -T "$(dirname "$STATE")" | awk 'NR==2{print $2}')"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) (2 shared cores)"
for k in spool_p50_us spool_p99_us reload_ms drain_per_s cpu_us_per_spool \
    cpu_us_per_send vmhwm_kb; do
	grep -o "$k=[0-9.]*" "$out" | cut -d= -f2 | sort -g | awk -v k="$k" '
	    { v[NR] = $1 }
	    END { printf "%-18s median %s (min %s, max %s)\n", k,
		v[int((NR + 1) / 2)], v[1], v[NR] }'
done
