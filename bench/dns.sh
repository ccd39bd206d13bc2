#!/bin/bash
# bench/dns.sh: DNS checks against a local knotd, side by side in the same
# run with prometheus-blackbox-exporter's dns prober and a minimal UDP query
# loop (bench/dns_minloop.c).  A benchmark, not a test: it reports probes/s,
# CPU microseconds per probe of each prober's own process (utime+stime from
# /proc/PID/stat), peak RSS (VmHWM), and sonde's schedule lag, as medians of
# RUNS runs, with the spread.  Loopback only; every load loop is bounded.
#
# usage: bench/dns.sh [SONDE_BINARY]      (default: build/sonde)
# env:   RUNS=3 CHECKS=200 INTERVAL=200ms SECONDS_PER_RUN=10 BB_PROBES=4000
#        BB_PARALLEL=4 MIN_QUERIES=20000
set -euo pipefail

SONDE=${1:-${SONDE_BIN:-build/sonde}}
RUNS=${RUNS:-3}
CHECKS=${CHECKS:-200}
INTERVAL=${INTERVAL:-200ms}
SECS=${SECONDS_PER_RUN:-10}
BB_PROBES=${BB_PROBES:-4000}
BB_PARALLEL=${BB_PARALLEL:-4}
MIN_QUERIES=${MIN_QUERIES:-20000}
HERE=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$HERE/lib.sh"

bl_need knotd knot
bl_need prometheus-blackbox-exporter prometheus-blackbox-exporter
bl_need curl curl
bl_need cc gcc
bl_need python3 python3
[ -x "$SONDE" ] || bl_die "$SONDE not found (build sonde first)"

bl_init bench-dns
T=$BL_TMP

spread() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'; }

# ---- knotd with a small zone (www.example.test A 192.0.2.10) -------------
KPORT=$(bl_free_port)
bl_knotd "$T" "$KPORT"

cc -O2 -o "$T/dns_minloop" "$HERE/dns_minloop.c"

# ---- configs ------------------------------------------------------------
{
	echo "agent: { name = \"bench\"; max_in_flight = 1024; };"
	echo "checks = ("
	for i in $(seq "$CHECKS"); do
		sep=","; [ "$i" = "$CHECKS" ] && sep=""
		echo "  { name = \"d$i\"; type = \"dns\"; server = \"127.0.0.1:$KPORT\";"
		echo "    query = \"www.example.test\"; interval = \"$INTERVAL\";"
		echo "    timeout = \"150ms\"; expect = { answers_include = [\"192.0.2.10\"]; }; }$sep"
	done
	echo ");"
} > "$T/sonde.conf"

cat > "$T/blackbox.yml" <<EOF
modules:
  dns_a:
    prober: dns
    timeout: 1s
    dns:
      query_name: "www.example.test"
      query_type: "A"
      transport_protocol: "udp"
      preferred_ip_protocol: "ip4"
      valid_rcodes: [NOERROR]
EOF

# ---- one run of each ----------------------------------------------------
run_sonde() {
	local pid t0 t1 line probes lag
	bl_spawn "$T/sonde.log" "$SONDE" -f -c "$T/sonde.conf"
	pid=$BL_PID
	sleep 1				# load, first spread-out runs
	t0=$(bl_ticks "$pid")
	sleep "$SECS"
	t1=$(bl_ticks "$pid")
	hwm=$(bl_kb "$pid" VmHWM)
	kill -TERM "$pid"
	bl_reap "$pid" || true
	line=$(grep 'event=stopped' "$T/sonde.log" | tail -1)
	probes=$(sed -n 's/.*probes=\([0-9]*\).*/\1/p' <<<"$line")
	failed=$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$line")
	lag=$(sed -n 's/.*lag_p99_ms=\([0-9.]*\).*/\1/p' <<<"$line")
	# Probes in the window: the rate over the whole run times the window.
	awk -v p="$probes" -v f="$failed" -v t0="$t0" -v t1="$t1" \
	    -v tck="$BL_CLK_TCK" \
	    -v secs="$SECS" -v hwm="$hwm" -v lag="$lag" 'BEGIN {
		rate = p / (secs + 1); n = rate * secs;
		printf "%.0f %.1f %d %s %d\n", rate,
		    (t1 - t0) / tck * 1e6 / n, hwm, lag, f }'
}

run_blackbox() {
	local pid t0 t1 s e
	bl_blackbox "$T/blackbox.yml" "$T/bb.log"
	pid=$BL_PID
	url="http://127.0.0.1:$BL_PORT/probe?module=dns_a&target=127.0.0.1:$KPORT"
	curl -s -o /dev/null "$url&warm=[1-200]"
	curl -s "$url" | grep -q '^probe_success 1' || {
		echo "bench/dns.sh: blackbox_exporter probe failed" >&2; exit 1; }
	t0=$(bl_ticks "$pid")
	s=$(date +%s.%N)
	curl -s --no-progress-meter -Z --parallel-max "$BB_PARALLEL" -o /dev/null "$url&n=[1-$BB_PROBES]"
	e=$(date +%s.%N)
	t1=$(bl_ticks "$pid")
	hwm=$(bl_kb "$pid" VmHWM)
	bl_stop "$pid"
	awk -v n="$BB_PROBES" -v t0="$t0" -v t1="$t1" -v tck="$BL_CLK_TCK" -v s="$s" \
	    -v e="$e" -v hwm="$hwm" 'BEGIN {
		printf "%.0f %.1f %d\n", n / (e - s), (t1 - t0) / tck * 1e6 / n, hwm }'
}

run_min() {
	"$T/dns_minloop" "$KPORT" www.example.test "$MIN_QUERIES" |
	    sed -n 's/.*cpu_us_per_query=\([0-9.]*\) qps=\([0-9]*\).*/\2 \1/p'
}

: > "$T/sonde.res"; : > "$T/bb.res"; : > "$T/min.res"
for r in $(seq "$RUNS"); do
	echo "run $r/$RUNS ..." >&2
	run_sonde >> "$T/sonde.res"
	run_blackbox >> "$T/bb.res"
	run_min >> "$T/min.res"
done

col() { awk -v c="$2" '{ print $c }' "$1"; }
s_cpu=$(col "$T/sonde.res" 2 | bl_median)
b_cpu=$(col "$T/bb.res" 2 | bl_median)
m_cpu=$(col "$T/min.res" 2 | bl_median)
echo
echo "DNS probes against knotd on 127.0.0.1 ($(nproc) cores; $RUNS runs; median [min-max])"
printf "%-28s %10s %22s %12s %s\n" prober probes/s "CPU us/probe" "peak RSS" extra
printf "%-28s %10s %10s %-11s %9s KB  lag_p99=%sms failed=%s\n" \
    "sonde ($CHECKS checks/$INTERVAL)" "$(col "$T/sonde.res" 1 | bl_median)" \
    "$s_cpu" "[$(col "$T/sonde.res" 2 | spread)]" \
    "$(col "$T/sonde.res" 3 | bl_median)" \
    "$(col "$T/sonde.res" 4 | bl_median)" \
    "$(col "$T/sonde.res" 5 | bl_median)"
printf "%-28s %10s %10s %-11s %9s KB  parallel=%s\n" \
    "blackbox_exporter dns" "$(col "$T/bb.res" 1 | bl_median)" "$b_cpu" \
    "[$(col "$T/bb.res" 2 | spread)]" "$(col "$T/bb.res" 3 | bl_median)" \
    "$BB_PARALLEL"
printf "%-28s %10s %10s %-11s\n" "minimal UDP query loop" \
    "$(col "$T/min.res" 1 | bl_median)" "$m_cpu" \
    "[$(col "$T/min.res" 2 | spread)]"
awk -v s="$s_cpu" -v b="$b_cpu" -v m="$m_cpu" 'BEGIN {
	printf "sonde / blackbox_exporter CPU per probe: %.3f (target <= 0.125)\n", s / b;
	printf "sonde / minimal loop CPU per probe:      %.2f\n", s / m }'
