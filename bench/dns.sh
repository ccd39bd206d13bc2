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
TCK=$(getconf CLK_TCK)

for bin in /usr/sbin/knotd prometheus-blackbox-exporter curl cc "$SONDE"; do
	command -v "$bin" >/dev/null 2>&1 || [ -x "$bin" ] || {
		echo "bench/dns.sh: $bin not found (apt-get install knot" \
		    "prometheus-blackbox-exporter curl; build sonde first)" >&2
		exit 1; }
done

T=$(mktemp -d /tmp/sonde-bench-dns.XXXXXX)
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
	rm -rf "$T"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket
for _ in range(50):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
    p = u.getsockname()[1]; t = socket.socket()
    try:
        t.bind(("127.0.0.1", p)); print(p); break
    except OSError: pass
    finally: t.close(); u.close()'
}

# CPU seconds (utime+stime) of a PID, in clock ticks.
ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hwm_kb() { awk '/^VmHWM/ { print $2 }' "/proc/$1/status"; }
wait_tcp() {
	for _ in $(seq 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "bench/dns.sh: nothing listening on port $1" >&2; exit 1
}
median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
spread() { sort -g | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'; }

# ---- knotd with a small zone --------------------------------------------
KPORT=$(free_port)
cat > "$T/example.test.zone" <<'EOF'
$ORIGIN example.test.
$TTL 300
@	IN SOA ns1 hostmaster 2026112701 3600 600 86400 60
	IN NS ns1
ns1	IN A 127.0.0.1
www	IN A 192.0.2.10
EOF
cat > "$T/knot.conf" <<EOF
server:
  rundir: "$T"
  listen: 127.0.0.1@$KPORT
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
log:
  - target: stderr
    any: error
database:
  storage: "$T"
template:
  - id: default
    storage: "$T"
    file: "%s.zone"
    journal-content: none
    zonefile-sync: -1
zone:
  - domain: example.test
EOF
/usr/sbin/knotd -c "$T/knot.conf" 2>"$T/knot.log" &
PIDS+=($!)
wait_tcp "$KPORT"
sleep 0.2

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

BPORT=$(free_port)
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
	"$SONDE" -f -c "$T/sonde.conf" 2>"$T/sonde.log" &
	pid=$!
	sleep 1				# load, first spread-out runs
	t0=$(ticks "$pid")
	sleep "$SECS"
	t1=$(ticks "$pid")
	hwm=$(hwm_kb "$pid")
	kill -TERM "$pid"
	wait "$pid" || true
	line=$(grep 'event=stopped' "$T/sonde.log" | tail -1)
	probes=$(sed -n 's/.*probes=\([0-9]*\).*/\1/p' <<<"$line")
	failed=$(sed -n 's/.* failed=\([0-9]*\).*/\1/p' <<<"$line")
	lag=$(sed -n 's/.*lag_p99_ms=\([0-9.]*\).*/\1/p' <<<"$line")
	# Probes in the window: the rate over the whole run times the window.
	awk -v p="$probes" -v f="$failed" -v t0="$t0" -v t1="$t1" -v tck="$TCK" \
	    -v secs="$SECS" -v hwm="$hwm" -v lag="$lag" 'BEGIN {
		rate = p / (secs + 1); n = rate * secs;
		printf "%.0f %.1f %d %s %d\n", rate,
		    (t1 - t0) / tck * 1e6 / n, hwm, lag, f }'
}

run_blackbox() {
	local pid t0 t1 s e
	prometheus-blackbox-exporter --config.file="$T/blackbox.yml" \
	    --web.listen-address="127.0.0.1:$BPORT" >"$T/bb.log" 2>&1 &
	pid=$!
	wait_tcp "$BPORT"
	url="http://127.0.0.1:$BPORT/probe?module=dns_a&target=127.0.0.1:$KPORT"
	curl -s -o /dev/null "$url&warm=[1-200]"
	curl -s "$url" | grep -q '^probe_success 1' || {
		echo "bench/dns.sh: blackbox_exporter probe failed" >&2; exit 1; }
	t0=$(ticks "$pid")
	s=$(date +%s.%N)
	curl -s --no-progress-meter -Z --parallel-max "$BB_PARALLEL" -o /dev/null "$url&n=[1-$BB_PROBES]"
	e=$(date +%s.%N)
	t1=$(ticks "$pid")
	hwm=$(hwm_kb "$pid")
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	awk -v n="$BB_PROBES" -v t0="$t0" -v t1="$t1" -v tck="$TCK" -v s="$s" \
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
s_cpu=$(col "$T/sonde.res" 2 | median); b_cpu=$(col "$T/bb.res" 2 | median)
m_cpu=$(col "$T/min.res" 2 | median)
echo
echo "DNS probes against knotd on 127.0.0.1 ($(nproc) cores; $RUNS runs; median [min-max])"
printf "%-28s %10s %22s %12s %s\n" prober probes/s "CPU us/probe" "peak RSS" extra
printf "%-28s %10s %10s %-11s %9s KB  lag_p99=%sms failed=%s\n" \
    "sonde ($CHECKS checks/$INTERVAL)" "$(col "$T/sonde.res" 1 | median)" \
    "$s_cpu" "[$(col "$T/sonde.res" 2 | spread)]" \
    "$(col "$T/sonde.res" 3 | median)" "$(col "$T/sonde.res" 4 | median)" \
    "$(col "$T/sonde.res" 5 | median)"
printf "%-28s %10s %10s %-11s %9s KB  parallel=%s\n" \
    "blackbox_exporter dns" "$(col "$T/bb.res" 1 | median)" "$b_cpu" \
    "[$(col "$T/bb.res" 2 | spread)]" "$(col "$T/bb.res" 3 | median)" \
    "$BB_PARALLEL"
printf "%-28s %10s %10s %-11s\n" "minimal UDP query loop" \
    "$(col "$T/min.res" 1 | median)" "$m_cpu" "[$(col "$T/min.res" 2 | spread)]"
awk -v s="$s_cpu" -v b="$b_cpu" -v m="$m_cpu" 'BEGIN {
	printf "sonde / blackbox_exporter CPU per probe: %.3f (target <= 0.125)\n", s / b;
	printf "sonde / minimal loop CPU per probe:      %.2f\n", s / m }'
