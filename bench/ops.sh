#!/bin/sh
# bench/ops.sh: cost of the operator's endpoints (not a test).
#
#  1. /metrics of an agent running N tcp checks (default 1000 and 10000,
#     interval 30s, against a local listener): scrape latency (median and
#     p90 of 30 scrapes), body size, sonde CPU per scrape (utime+stime from
#     /proc/PID/stat over the scrapes, minus an idle window of the same
#     length), peak RSS (VmHWM).
#  2. /probe side by side with Debian's prometheus-blackbox-exporter, same
#     tcp target, same module: median latency of 300 sequential requests and
#     CPU µs per request of each exporter's process.
#
# Loopback only; every loop bounded.  Needs curl, python3, and
# prometheus-blackbox-exporter.  Usage: bench/ops.sh [path/to/sonde]
set -eu
SONDE=${1:-./sonde}
TMP=$(mktemp -d)
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM
TICK=$(getconf CLK_TCK)

freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hwm_kb() { awk '/VmHWM/{print $2}' "/proc/$1/status"; }
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
p90() { sort -n | awk '{a[NR]=$1} END{print a[int(NR*0.9+0.5)]}'; }
wait_port() { i=0; while ! curl -s -o /dev/null "http://127.0.0.1:$1/$2"; do i=$((i+1)); [ $i -lt 100 ] || { echo "port $1 never answered" >&2; exit 1; }; sleep 0.1; done; }

# The target: accepts and closes, forever (a thread per connection).
TPORT=$(freeport)
python3 -c '
import socket,sys,threading
s=socket.socket(); s.setsockopt(socket.SOL_SOCKET,socket.SO_REUSEADDR,1)
s.bind(("127.0.0.1",int(sys.argv[1]))); s.listen(1024)
while True:
    c,_=s.accept(); c.close()' "$TPORT" &
PIDS="$PIDS $!"

echo "== /metrics scrape cost (sonde $("$SONDE" --version 2>/dev/null | head -1))"
printf '%8s %12s %12s %10s %14s %10s\n' checks p50_ms p90_ms body_kB cpu_us/scrape VmHWM_kB
for N in 1000 10000; do
	MPORT=$(freeport)
	{
		printf 'agent: { listen = "127.0.0.1:%s"; max_in_flight = 1000; };\n' "$MPORT"
		printf 'defaults: { interval = "30s"; timeout = "5s"; };\nchecks = (\n'
		i=0; while [ $i -lt "$N" ]; do
			[ $i -gt 0 ] && printf ',\n'
			printf '{ name = "c%d"; type = "tcp"; host = "127.0.0.1"; port = %s; labels = { team = "t%d"; }; }' $i "$TPORT" $((i % 10))
			i=$((i+1)); done
		printf '\n);\n'
	} > "$TMP/s$N.conf"
	"$SONDE" -c "$TMP/s$N.conf" 2>"$TMP/log$N" &
	SP=$!; PIDS="$PIDS $SP"
	wait_port "$MPORT" healthz
	sleep 31	# one full interval: every check has a result
	c0=$(cpu_ticks $SP); sleep 3; c1=$(cpu_ticks $SP)
	idle=$((c1 - c0))
	: > "$TMP/lat"
	c0=$(cpu_ticks $SP); t0=$(date +%s%N)
	i=0; while [ $i -lt 30 ]; do
		curl -s -o "$TMP/m" -w '%{time_total}\n' "http://127.0.0.1:$MPORT/metrics" >> "$TMP/lat"; i=$((i+1)); done
	c1=$(cpu_ticks $SP); t1=$(date +%s%N)
	# Subtract the probing CPU of an idle window as long as the scrapes took.
	win_ms=$(( (t1 - t0) / 1000000 ))
	busy=$(( (c1 - c0) - idle * win_ms / 3000 ))
	[ $busy -ge 0 ] || busy=0
	printf '%8d %12.2f %12.2f %10d %14d %10d\n' "$N" \
	    "$(awk '{print $1*1000}' "$TMP/lat" | median)" \
	    "$(awk '{print $1*1000}' "$TMP/lat" | p90)" \
	    $(( $(wc -c < "$TMP/m") / 1024 )) \
	    $(( busy * 1000000 / TICK / 30 )) "$(hwm_kb $SP)"
	kill $SP; wait $SP 2>/dev/null || true
done

echo
echo "== /probe, tcp module, same target, 300 sequential requests each"
BB=$(command -v prometheus-blackbox-exporter || true)
[ -n "$BB" ] || { echo "install prometheus-blackbox-exporter for the side-by-side" >&2; exit 1; }
SPORT=$(freeport); BPORT=$(freeport)
printf 'agent: { listen = "127.0.0.1:%s"; };\nmodules = { tcp_connect = { type = "tcp"; timeout = "5s"; }; };\nchecks = ();\n' "$SPORT" > "$TMP/p.conf"
printf 'modules:\n  tcp_connect:\n    prober: tcp\n    timeout: 5s\n' > "$TMP/bb.yml"
"$SONDE" -c "$TMP/p.conf" 2>/dev/null & SP=$!; PIDS="$PIDS $SP"
"$BB" --config.file="$TMP/bb.yml" --web.listen-address="127.0.0.1:$BPORT" 2>/dev/null & BP=$!; PIDS="$PIDS $BP"
wait_port "$SPORT" healthz; wait_port "$BPORT" metrics
printf '%-22s %10s %10s %14s %10s\n' exporter p50_ms p90_ms cpu_us/probe VmHWM_kB
for who in sonde:$SPORT:$SP blackbox:$BPORT:$BP; do
	name=${who%%:*}; rest=${who#*:}; port=${rest%%:*}; pid=${rest#*:}
	: > "$TMP/lat"
	c0=$(cpu_ticks "$pid")
	i=0; while [ $i -lt 300 ]; do
		curl -s -o "$TMP/p" -w '%{time_total}\n' "http://127.0.0.1:$port/probe?module=tcp_connect&target=127.0.0.1:$TPORT" >> "$TMP/lat"; i=$((i+1)); done
	c1=$(cpu_ticks "$pid")
	grep -q '^probe_success 1' "$TMP/p" || { echo "$name: probe failed" >&2; cat "$TMP/p" >&2; exit 1; }
	printf '%-22s %10.3f %10.3f %14d %10d\n' "$name" \
	    "$(awk '{print $1*1000}' "$TMP/lat" | median)" \
	    "$(awk '{print $1*1000}' "$TMP/lat" | p90)" \
	    $(( (c1 - c0) * 1000000 / TICK / 300 )) "$(hwm_kb "$pid")"
done
