#!/bin/bash
# SPDX-License-Identifier: ISC
#
# bench/soak.sh: the soak (issue #9).  One sonde runs for --minutes with
# --checks checks at a 10 s interval, a third of them against hostile
# targets (bench/hostile: drip, never answer, endless body, full backlog,
# garbage, garbage DNS, silent DNS), the rest against healthy local
# servers (nginx for http and https/tls, bench/tcp_sink for tcp, knotd for
# dns), a few hundred against a tcp_sink that the script stops and starts
# so that alerts fire and resolve, through a Slack-compatible webhook
# (bench/flakyhook) that answers 200, then 500s, 429 with Retry-After,
# drops connections, hangs, and 200 again.  A benchmark, not a test: it
# measures and gives a verdict per target of the issue, it does not gate
# a build.
#
#   bench/soak.sh [--builddir DIR] [--minutes M] [--checks N] [--quick]
#                 [--reference-minutes R] [--no-reference] [--keep]
#                 [--hostile-log-only]
#
# Every 10 s it samples sonde's VmRSS, RssAnon, VmHWM, open fds, CPU
# ticks, the outbox's records on disk and the host's busy share into a CSV;
# every 60 s it also reads /metrics (lag quantiles, probes in flight,
# outbox counters).  At the end: RSS growth after warm-up (first 2 min),
# fds after warm-up, every notification sonde's log channel wrote against
# what the webhook accepted (lost, doubled, out of order), and the
# schedule lag p99 against a reference run of the same config without
# the hostile third.  Report on stdout and in bench/results/soak-DATE.md.
#
# Loopback only; every wait is bounded; the cleanup trap stops only the
# PIDs this script started.
set -u

SRCDIR=$(cd "$(dirname "$0")/.." && pwd)
BUILD=$SRCDIR/build
MINUTES=20
CHECKS=5000
REF_MINUTES=
NO_REF=
KEEP=
INTERVAL=10
TIMEOUT=2
WARM=120
HOSTILE_NOTIFY='"log", "slack"'
while [ $# -gt 0 ]; do
	case $1 in
	--builddir) BUILD=$(cd "$2" && pwd); shift ;;
	--minutes) MINUTES=$2; shift ;;
	--checks) CHECKS=$2; shift ;;
	--quick) MINUTES=3; CHECKS=1500 ;;
	--reference-minutes) REF_MINUTES=$2; shift ;;
	--no-reference) NO_REF=1 ;;
	--keep) KEEP=1 ;;
	--hostile-log-only) HOSTILE_NOTIFY='"log"' ;;
	*) echo "usage: bench/soak.sh [--builddir DIR] [--minutes M]" \
	    "[--checks N] [--quick] [--reference-minutes R]" \
	    "[--no-reference] [--keep] [--hostile-log-only]" >&2; exit 2 ;;
	esac
	shift
done
case "$MINUTES$CHECKS" in *[!0-9]*) echo "soak: --minutes and --checks" \
    "take whole numbers" >&2; exit 2 ;; esac
if [ "$MINUTES" -lt 3 ] || [ "$CHECKS" -lt 300 ]; then
	echo "soak: at least 3 minutes (2 are warm-up) and 300 checks" >&2
	exit 2
fi
[ -z "$REF_MINUTES" ] && REF_MINUTES=$(( MINUTES >= 10 ? 3 : 1 ))
DUR=$((MINUTES * 60))

need() {
	command -v "$1" >/dev/null 2>&1 || [ -x "$1" ] || {
		echo "soak: $1 not found: apt-get install $2" >&2; exit 1; }
}
need nginx nginx
need /usr/sbin/knotd knot
need openssl openssl
need curl curl
need python3 python3
nice -n 10 make -C "$BUILD" sonde bench/tcp_sink bench/hostile \
    bench/flakyhook >/dev/null || { echo "soak: build failed" >&2; exit 1; }
SONDE=$BUILD/sonde

# sonde does not raise its own fd limit: give it the hard one.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

T=$(mktemp -d "${TMPDIR:-/tmp}/sonde-soak.XXXXXX")
PIDS=()
cleanup() {
	local p
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for _ in $(seq 50); do
		for p in "${PIDS[@]}"; do
			kill -0 "$p" 2>/dev/null && break
			p=
		done
		[ -z "$p" ] && break
		sleep 0.1
	done
	for p in "${PIDS[@]}"; do kill -KILL "$p" 2>/dev/null; done
	wait 2>/dev/null
	if [ -n "$KEEP" ]; then echo "soak: kept $T"; else rm -rf "$T"; fi
}
trap cleanup EXIT
# A PID reaped is forgotten, so that cleanup never signals a reused one.
forget() {
	local p keep=()
	for p in "${PIDS[@]}"; do [ "$p" != "$1" ] && keep+=("$p"); done
	PIDS=("${keep[@]}")
}
trap 'exit 130' INT TERM

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
wait_tcp() {	# port, what
	for _ in $(seq 200); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "soak: $2 does not listen on port $1" >&2; exit 1
}
# First line of a child's stdout (its ports), waited for at most 5 s.
first_line() {
	for _ in $(seq 100); do
		[ -s "$1" ] && { head -1 "$1"; return 0; }
		sleep 0.05
	done
	echo "soak: nothing on $1" >&2; exit 1
}

# ---- healthy targets ---------------------------------------------------
(
	cd "$T" || exit 1
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem \
	    -subj /CN=sonde-soak-ca -days 30 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr \
	    -subj /CN=localhost 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > srv.ext
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key \
	    -CAcreateserial -days 30 -extfile srv.ext -out srv.pem 2>/dev/null
	cat srv.pem ca.pem > chain.pem
) || { echo "soak: openssl failed" >&2; exit 1; }
NG_HTTP=$(free_port); NG_HTTPS=$(free_port)
mkdir -p "$T/nginx/tmp"
cat > "$T/nginx/nginx.conf" <<NGX
daemon off; master_process off; worker_processes 1;
pid $T/nginx/nginx.pid; error_log $T/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off; default_type text/plain;
  client_body_temp_path $T/nginx/tmp; proxy_temp_path $T/nginx/tmp;
  fastcgi_temp_path $T/nginx/tmp; uwsgi_temp_path $T/nginx/tmp;
  scgi_temp_path $T/nginx/tmp;
  server { listen 127.0.0.1:$NG_HTTP backlog=4096;
    location / { return 200 "ok\n"; } }
  server { listen 127.0.0.1:$NG_HTTPS ssl backlog=4096;
    ssl_certificate $T/chain.pem; ssl_certificate_key $T/srv.key;
    ssl_session_cache off; ssl_session_tickets off;
    location / { return 200 "ok\n"; } }
}
NGX
nginx -e "$T/nginx/error.log" -p "$T/nginx" -c "$T/nginx/nginx.conf" &
PIDS+=($!)
wait_tcp "$NG_HTTP" nginx

"$BUILD/bench/tcp_sink" > "$T/sink.out" 2>&1 &
PIDS+=($!)
SINK=$(first_line "$T/sink.out")

# The flapping target: a tcp_sink on a fixed port, stopped and started.
FLAP_PORT=$(free_port)
FLAP_PID=
flap_up() {
	[ -n "$FLAP_PID" ] && return
	"$BUILD/bench/tcp_sink" --port "$FLAP_PORT" >> "$T/flap.out" 2>&1 &
	FLAP_PID=$!
	PIDS+=($FLAP_PID)
	wait_tcp "$FLAP_PORT" "the flapping tcp_sink"
}
flap_down() {
	[ -z "$FLAP_PID" ] && return
	kill "$FLAP_PID" 2>/dev/null
	wait "$FLAP_PID" 2>/dev/null
	forget "$FLAP_PID"
	FLAP_PID=
}
flap_up

# knotd with a private config and zone, as tests/check_dns.c runs it.
KNOT_PORT=$(free_port)
mkdir -p "$T/knot"
cat > "$T/knot/example.test.zone" <<ZONE
\$ORIGIN example.test.
\$TTL 300
@	IN SOA ns1 hostmaster 2026112701 3600 600 86400 60
	IN NS ns1
ns1	IN A 127.0.0.1
www	IN A 192.0.2.10
ZONE
cat > "$T/knot/knot.conf" <<KNOT
server:
  rundir: "$T/knot"
  listen: 127.0.0.1@$KNOT_PORT
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
log:
  - target: stderr
    any: warning
database:
  storage: "$T/knot"
template:
  - id: default
    storage: "$T/knot"
    file: "%s.zone"
    journal-content: none
    zonefile-sync: -1
zone:
  - domain: example.test
KNOT
/usr/sbin/knotd -c "$T/knot/knot.conf" 2> "$T/knot/knot.log" &
PIDS+=($!)
wait_tcp "$KNOT_PORT" knotd

# ---- hostile targets -----------------------------------------------------
"$BUILD/bench/hostile" > "$T/hostile.out" 2>&1 &
HOSTILE_PID=$!
PIDS+=($HOSTILE_PID)
for kv in $(first_line "$T/hostile.out"); do
	eval "HP_${kv%%=*}=${kv#*=}"
done
[ -n "${HP_dns_silent:-}" ] || { echo "soak: hostile gave no ports" >&2; exit 1; }

# ---- the config ----------------------------------------------------------
# gen_conf FILE STATE_DIR LISTEN_PORT HOOK_URL_FILE WITH_HOSTILE
NFLAP=$(( CHECKS / 10 > 300 ? 300 : CHECKS / 10 ))
NHOSTILE=$(( CHECKS / 3 ))
NHEALTHY=$(( CHECKS - NFLAP - NHOSTILE ))
gen_conf() {
	local file=$1 state=$2 lport=$3 urlfile=$4 with_hostile=$5
	{
	cat <<CONF
agent: { name = "soak"; state_dir = "$state"; listen = "127.0.0.1:$lport";
  max_in_flight = 1024; digest_window = "0s"; };
defaults: { interval = "${INTERVAL}s"; timeout = "${TIMEOUT}s"; };
rules = (
  { name = "down"; checks = ["h-*", "f-*"]; fire_after = 3;
    resolve_after = 2; notify = ["log", "slack"]; },
  { name = "hostile"; checks = ["x-*"]; fire_after = 3; resolve_after = 2;
    notify = [$HOSTILE_NOTIFY]; }
);
channels = {
  slack = { webhook_url_file = "$urlfile"; timeout = "3s";
    template = "{{kind}} {{rule}}/{{check}}"; };
};
CONF
	echo "checks = ("
	awk -v nh="$NHEALTHY" -v nf="$NFLAP" -v nx="$NHOSTILE" \
	    -v hx="$with_hostile" -v http="$NG_HTTP" -v https="$NG_HTTPS" \
	    -v sink="$SINK" -v flap="$FLAP_PORT" -v knot="$KNOT_PORT" \
	    -v ca="$T/ca.pem" -v drip="$HP_drip" -v silent="$HP_silent" \
	    -v endless="$HP_endless" -v backlog="$HP_backlog" \
	    -v garbage="$HP_garbage" -v dns="$HP_dns" \
	    -v dnss="$HP_dns_silent" '
	function out(s) { printf "%s%s\n", (n++ ? "," : ""), s }
	function tcp(name, port, extra) {
		return sprintf("{ name = \"%s\"; type = \"tcp\"; host = \"127.0.0.1\"; port = %d;%s }", name, port, extra)
	}
	function http_(name, url, extra) {
		return sprintf("{ name = \"%s\"; type = \"http\"; url = \"%s\";%s }", name, url, extra)
	}
	function tls(name, port) {
		return sprintf("{ name = \"%s\"; type = \"tls\"; host = \"127.0.0.1\"; port = %d; ca_file = \"%s\"; }", name, port, ca)
	}
	function dnsq(name, server) {
		return sprintf("{ name = \"%s\"; type = \"dns\"; server = \"127.0.0.1:%d\"; query = \"www.example.test\"; record = \"A\"; }", name, server)
	}
	BEGIN {
		ping = " send = \"PING\\r\\n\"; expect = { reply = \"^PONG\"; };"
		for (i = 0; i < nh; i++) {
			k = i % 10; nm = "h-" i
			if (k <= 2 || k == 9)
				out(http_(nm, "http://127.0.0.1:" http "/ok?i=" i, ""))
			else if (k == 3)
				out(http_(nm, "https://127.0.0.1:" https "/ok?i=" i, " ca_file = \"" ca "\";"))
			else if (k <= 5)
				out(tcp(nm, sink, ""))
			else if (k == 6)
				out(tls(nm, https))
			else
				out(dnsq(nm, knot))
		}
		for (i = 0; i < nf; i++)
			out(tcp("f-" i, flap, ""))
		for (i = 0; hx && i < nx; i++) {
			k = i % 13; nm = "x-" i; u = "/x?i=" i
			if (k == 0) out(http_(nm, "http://127.0.0.1:" drip u, ""))
			else if (k == 1) out(http_(nm, "http://127.0.0.1:" silent u, ""))
			else if (k == 2) out(http_(nm, "http://127.0.0.1:" endless u, ""))
			else if (k == 3) out(http_(nm, "http://127.0.0.1:" backlog u, ""))
			else if (k == 4) out(http_(nm, "http://127.0.0.1:" garbage u, ""))
			else if (k == 5) out(tcp(nm, silent, ping))
			else if (k == 6) out(tcp(nm, backlog, ""))
			else if (k == 7) out(tcp(nm, garbage, ping))
			else if (k == 8) out(tls(nm, silent))
			else if (k == 9) out(tls(nm, garbage))
			else if (k == 10) out(tls(nm, drip))
			else if (k == 11) out(dnsq(nm, dns))
			else out(dnsq(nm, dnss))
		}
	}'
	echo ");"
	} > "$file"
}

# ---- sampling ------------------------------------------------------------
HZ=$(getconf CLK_TCK)
now() { echo "$EPOCHREALTIME"; }
status_kb() { awk -v k="$2:" '$1 == k {print $2}' "/proc/$1/status" 2>/dev/null; }
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null; }
fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
host_cpu() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9}' /proc/stat; }
outbox_files() { find "$1/outbox" -maxdepth 1 -name '[0-9]*.json' 2>/dev/null | wc -l; }
# One metric sample's value from a scrape.
metric() { awk -v m="$2" 'index($0, m) == 1 {print $NF; exit}' "$1"; }

# The hook's schedule: phases as fractions of the active 70 % of the run.
hook_schedule() {
	local a=$(( DUR * 7 / 10 )) f
	f() { echo $(( a * $1 / 100 )); }
	echo "ok:$(f 21),500:$(f 15),ok:$(f 7),429:$(f 15),ok:$(f 8),drop:$(f 15),ok:$(f 7),hang:$(( a - $(f 21) - $(f 15) - $(f 7) - $(f 15) - $(f 8) - $(f 15) - $(f 7) )),ok"
}
# Whether the flapping sink is down at second t: from 60 s on, cycles of
# at least 120 s (half down, half up) over the active 70 % of the run.
FLAP_ACTIVE=$(( DUR * 7 / 10 ))
FLAP_CYCLES=$(( FLAP_ACTIVE / 120 > 0 ? FLAP_ACTIVE / 120 : 1 ))
FLAP_PERIOD=$(( FLAP_ACTIVE / FLAP_CYCLES ))
flap_should_be_down() {
	local t=$1
	[ "$t" -ge 60 ] && [ "$t" -lt $(( 60 + FLAP_ACTIVE )) ] &&
	    [ $(( (t - 60) % FLAP_PERIOD )) -lt $(( FLAP_PERIOD / 2 )) ]
}

# run_sonde TAG CONF STATE LPORT SECONDS FLAP(0/1): runs sonde, samples into
# $T/TAG.csv, log in $T/TAG.log; after SECONDS waits (at most 300 s) for
# the outbox to drain, then SIGTERM.  Sets SONDE_RC and STOPPED.
run_sonde() {
	local tag=$1 conf=$2 state=$3 lport=$4 secs=$5 doflap=$6
	local pid t0 t k=0 next cpu0 cpu1 busy mt csv=$T/$1.csv
	local lag infl pend deliv retr rej drop lsum lcnt ob drained=
	"$SONDE" -f -c "$conf" 2> "$T/$tag.log" &
	pid=$!
	PIDS+=($pid)
	SONDE_PID=$pid
	echo "t_s,vmrss_kb,rssanon_kb,vmhwm_kb,fds,cpu_ticks,outbox_files,host_busy_pct,flap_up,lag_p99_ms,in_flight,outbox_pending,delivered,retries,rejected,dropped,lag_sum_s,lag_count" > "$csv"
	t0=$(now)
	cpu0=$(host_cpu)
	while :; do
		next=$(awk -v a="$t0" -v k="$k" 'BEGIN {printf "%.6f", a + 10 * k}')
		sleep "$(awk -v n="$next" -v c="$(now)" 'BEGIN {d = n - c; printf "%.3f", (d > 0 ? d : 0)}')"
		t=$((k * 10))
		kill -0 "$pid" 2>/dev/null || { echo "soak: sonde ($tag) died at t=${t}s; see $T/$tag.log" >&2; break; }
		if [ "$doflap" = 1 ]; then
			if flap_should_be_down "$t"; then flap_down; else flap_up; fi
		fi
		cpu1=$(host_cpu)
		busy=$(echo "$cpu0 $cpu1" | awk '{d = $4 - $2; print (d > 0 ? sprintf("%.1f", 100 * ($3 - $1) / d) : "")}')
		cpu0=$cpu1
		lag=; infl=; pend=; deliv=; retr=; rej=; drop=; lsum=; lcnt=
		if [ $((t % 60)) -eq 0 ] && curl -s -m 5 -o "$T/metrics" "http://127.0.0.1:$lport/metrics"; then
			lag=$(metric "$T/metrics" 'sonde_probe_schedule_lag_seconds{quantile="0.99"}' | awk '{printf "%.3f", $1 * 1000}')
			infl=$(metric "$T/metrics" 'sonde_probes_in_flight ')
			pend=$(metric "$T/metrics" 'sonde_outbox_pending{channel="slack"}')
			deliv=$(metric "$T/metrics" 'sonde_outbox_delivered_total')
			retr=$(metric "$T/metrics" 'sonde_outbox_retries_total')
			rej=$(metric "$T/metrics" 'sonde_outbox_rejected_total')
			drop=$(metric "$T/metrics" 'sonde_outbox_dropped_total')
			lsum=$(metric "$T/metrics" 'sonde_probe_schedule_lag_seconds_sum')
			lcnt=$(metric "$T/metrics" 'sonde_probe_schedule_lag_seconds_count')
		fi
		ob=$(outbox_files "$state")
		echo "$t,$(status_kb "$pid" VmRSS),$(status_kb "$pid" RssAnon),$(status_kb "$pid" VmHWM),$(fds "$pid"),$(ticks "$pid"),$ob,$busy,$([ -n "$FLAP_PID" ] && echo 1 || echo 0),$lag,$infl,$pend,$deliv,$retr,$rej,$drop,$lsum,$lcnt" >> "$csv"
		if [ "$t" -ge "$secs" ]; then
			[ "$ob" -eq 0 ] && { drained=1; break; }
			[ "$t" -ge $((secs + 300)) ] && break
		fi
		k=$((k + 1))
	done
	DRAINED=$drained
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	wait "$pid"; SONDE_RC=$?
	forget "$pid"
	STOPPED=$(grep 'event=stopped' "$T/$tag.log" | tail -1)
}

# ---- the runs ------------------------------------------------------------
REV=$(git -C "$SRCDIR" rev-parse --short HEAD 2>/dev/null || echo '?')
echo "== sonde soak: $CHECKS checks ($NHEALTHY healthy, $NFLAP flapping," \
    "$NHOSTILE hostile) at ${INTERVAL}s, timeout ${TIMEOUT}s, $MINUTES min;" \
    "$(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), sonde $REV"

start_hook() {	# tag schedule: sets HOOK_PID, HOOK_URL_FILE
	"$BUILD/bench/flakyhook" --record "$T/$1.rec" --schedule "$2" \
	    --retry-after 20 > "$T/$1.hook" 2> "$T/$1.hook.err" &
	HOOK_PID=$!
	PIDS+=($HOOK_PID)
	echo "http://127.0.0.1:$(first_line "$T/$1.hook")/hook" > "$T/$1.url"
	HOOK_URL_FILE=$T/$1.url
}
stop_pid() { kill "$1" 2>/dev/null; wait "$1" 2>/dev/null; forget "$1"; }

REF_STOPPED=
if [ -z "$NO_REF" ]; then
	start_hook ref ok
	LP=$(free_port)
	gen_conf "$T/ref.conf" "$T/ref-state" "$LP" "$HOOK_URL_FILE" 0
	"$SONDE" -t -c "$T/ref.conf" || { echo "soak: bad config" >&2; exit 1; }
	echo "-- reference: $((NHEALTHY + NFLAP)) checks, no hostile ones," \
	    "all targets up, channel ok, $REF_MINUTES min"
	run_sonde ref "$T/ref.conf" "$T/ref-state" "$LP" $((REF_MINUTES * 60)) 0
	REF_STOPPED=$STOPPED
	echo "   $REF_STOPPED"
	stop_pid "$HOOK_PID"
fi

start_hook full "$(hook_schedule)"
LP=$(free_port)
gen_conf "$T/full.conf" "$T/full-state" "$LP" "$HOOK_URL_FILE" 1
"$SONDE" -t -c "$T/full.conf" || { echo "soak: bad config" >&2; exit 1; }
echo "-- full run: hook schedule $(hook_schedule) (seconds); flapping" \
    "sink down half of each ${FLAP_PERIOD}s cycle from 60s to" \
    "$((60 + FLAP_ACTIVE))s"
run_sonde full "$T/full.conf" "$T/full-state" "$LP" "$DUR" 1
FULL_STOPPED=$STOPPED
echo "   $FULL_STOPPED (exit $SONDE_RC)"
flap_up
stop_pid "$HOOK_PID"
stop_pid "$HOSTILE_PID"

# ---- analysis ------------------------------------------------------------
CSV=$T/full.csv
# RSS and fds after warm-up: the first sample at or after WARM is the base.
read -r RSS_BASE RSS_END RSS_MAX ANON_BASE ANON_END ANON_MAX FD_MIN FD_MAX \
    FD_Q1 FD_Q4 NS <<<"$(awk -F, -v w="$WARM" '
	NR > 1 && $1 >= w && $2 != "" {
		n++; rss[n] = $2; anon[n] = $3; fd[n] = $5 }
	END {
		if (n == 0) { print "0 0 0 0 0 0 0 0 0 0 0"; exit }
		rmax = amax = 0; fmin = 1e9; fmax = 0
		for (i = 1; i <= n; i++) {
			if (rss[i] > rmax) rmax = rss[i]
			if (anon[i] > amax) amax = anon[i]
			if (fd[i] < fmin) fmin = fd[i]
			if (fd[i] > fmax) fmax = fd[i]
		}
		q = int(n / 4); if (q < 1) q = 1
		for (i = 1; i <= q; i++) if (fd[i] > q1) q1 = fd[i]
		for (i = n - q + 1; i <= n; i++) if (fd[i] > q4) q4 = fd[i]
		print rss[1], rss[n], rmax, anon[1], anon[n], amax, fmin, fmax, q1, q4, n
	}' "$CSV")"
pct() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b > 0 ? 100 * (a - b) / b : 0) }'; }
RSS_GROWTH=$(pct "$RSS_END" "$RSS_BASE")
RSS_PEAK_GROWTH=$(pct "$RSS_MAX" "$RSS_BASE")
ANON_GROWTH=$(pct "$ANON_END" "$ANON_BASE")
HWM_END=$(awk -F, 'NR > 1 && $4 != "" {h = $4} END {print h}' "$CSV")
busy_med() {
	awk -F, 'NR > 1 && $8 != "" {print $8}' "$1" 2>/dev/null | sort -g |
	    awk '{a[NR] = $1} END {print NR ? a[int((NR + 1) / 2)] : "?"}'
}
BUSY_MED=$(busy_med "$CSV")
REF_BUSY_MED=$(busy_med "$T/ref.csv")
CPU_PCT=$(awk -F, -v w="$WARM" -v hz="$HZ" 'NR > 1 && $1 >= w && $6 != "" {
	if (t0 == "") { t0 = $1; c0 = $6 } t1 = $1; c1 = $6 }
	END { printf "%.1f", (t1 > t0 ? 100 * (c1 - c0) / hz / (t1 - t0) : 0) }' "$CSV")
LAST_M=$(awk -F, 'NR > 1 && $13 != "" {l = $0} END {print l}' "$CSV")

# Notifications: what the log channel wrote (every notification sonde
# made; the log channel gets them all, at once) against what the webhook
# answered 200 to.  Per alert, the sequence of kinds must be the same.
# With --hostile-log-only the hostile rule does not notify the webhook.
grep 'channel=log notification=' "$T/full.log" |
    sed -n 's/.*notification=\([a-z]*\) alert=\([^ ]*\).*/\2 \1/p' |
    if [ "$HOSTILE_NOTIFY" = '"log"' ]; then grep -v '^hostile/'; else cat; fi > "$T/sent.keys"
cut -f3 "$T/full.rec" | awk '{print $2, $1}' > "$T/got.keys"
read -r N_SENT N_GOT LOST DOUBLED REORDERED DIGESTS <<<"$(awk '
	FNR == 1 { f++ }
	f == 1 { s[$1] = s[$1] " " $2; cs[$1 " " $2]++; ns++; next }
	f == 2 { g[$1] = g[$1] " " $2; cg[$1 " " $2]++; ng++ }
	END {
		for (k in cs) if (cs[k] > cg[k]) lost += cs[k] - cg[k]
		for (k in cg) if (cg[k] > cs[k]) dup += cg[k] - cs[k]
		for (a in s) if (s[a] != g[a] && length(s[a]) == length(g[a])) re++
		print ns + 0, ng + 0, lost + 0, dup + 0, re + 0
	}' "$T/sent.keys" "$T/got.keys") $(grep -c 'notification=digest' "$T/full.log")"
awk '{print $2}' "$T/sent.keys" | sort | uniq -c | awk '{printf "%s %s, ", $1, $2}' > "$T/kinds"
# The keys that differ, for the report: "alert kind: sent N, accepted M".
awk 'FNR == 1 { f++ } f == 1 { s[$0]++ } f == 2 { g[$0]++ }
	END { for (k in s) if (s[k] != g[k]) printf "%s: sent %d, accepted %d; ", k, s[k], g[k]
	      for (k in g) if (!(k in s)) printf "%s: sent 0, accepted %d; ", k, g[k] }' \
    "$T/sent.keys" "$T/got.keys" | cut -c1-2000 > "$T/diffkeys"

# Mean schedule lag (ms) between the first scrape at or after warm-up
# and the last one, from the summary's _sum and _count.
lag_mean_after_warm() {
	awk -F, -v w="$WARM" 'NR > 1 && $18 != "" {
		if ($1 >= w && s0 == "") { s0 = $17; c0 = $18 }
		s1 = $17; c1 = $18 }
		END { if (s0 != "" && c1 > c0) printf "%.2f", 1000 * (s1 - s0) / (c1 - c0); else print "?" }' "$1" 2>/dev/null
}
LAGM_FULL=$(lag_mean_after_warm "$CSV")
LAGM_REF=$(lag_mean_after_warm "$T/ref.csv")
lagp99() { echo "$1" | sed -n 's/.*lag_p99_ms=\([0-9.]*\).*/\1/p'; }
LAG_FULL=$(lagp99 "$FULL_STOPPED")
LAG_REF=$(lagp99 "$REF_STOPPED")
verdict() { if [ "$1" = 1 ]; then echo PASS; else echo FAIL; fi; }
V_RSS=$(verdict "$(awk -v g="$RSS_GROWTH" 'BEGIN {print (g < 5)}')")
V_FD=$(verdict "$(awk -v a="$FD_Q1" -v b="$FD_Q4" 'BEGIN {print (b <= a * 1.05 + 8)}')")
V_NOTE=$(verdict "$([ "$LOST" -eq 0 ] && [ "$DOUBLED" -eq 0 ] && [ "$REORDERED" -eq 0 ] && [ "$N_SENT" -gt 0 ] && echo 1)")
if [ -n "$LAG_REF" ] && [ -n "$LAG_FULL" ]; then
	V_LAG=$(verdict "$(awk -v f="$LAG_FULL" -v r="$LAG_REF" 'BEGIN {print (f <= r * 1.25 + 1)}')")
else
	V_LAG="n/a (no reference run)"
fi
V_ALIVE=$(verdict "$([ "$SONDE_RC" -eq 0 ] && [ -n "$FULL_STOPPED" ] && echo 1)")

REPORT=$(cat <<REP
# sonde soak, $(date -u +%Y-%m-%dT%H:%MZ)

Command: \`bench/soak.sh --minutes $MINUTES --checks $CHECKS\` (reference
$REF_MINUTES min), sonde $REV, $(nproc) CPUs ($(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)),
kernel $(uname -r), load at the end $(cut -d' ' -f1-3 /proc/loadavg).
Checks: $NHEALTHY healthy (http, https, tcp, tls, dns against nginx,
tcp_sink, knotd), $NFLAP against a tcp_sink stopped half of each
${FLAP_PERIOD}s cycle, $NHOSTILE hostile (13 kinds, round robin); interval
${INTERVAL}s, timeout ${TIMEOUT}s, max_in_flight 1024, digest off.
Webhook schedule (seconds): $(hook_schedule).
Host busy share during the run (all CPUs, median of 10 s samples):
${BUSY_MED}% (reference run: ${REF_BUSY_MED}%); sonde's own CPU after
warm-up: ${CPU_PCT}% of one CPU.

| target | figure | verdict |
|---|---|---|
| RSS growth < 5 % after warm-up (${WARM}s) | VmRSS $RSS_BASE → $RSS_END kB ($RSS_GROWTH %; peak $RSS_MAX kB, $RSS_PEAK_GROWTH %); RssAnon $ANON_BASE → $ANON_END kB ($ANON_GROWTH %); VmHWM $HWM_END kB | $V_RSS |
| open fds flat | after warm-up min $FD_MIN, max $FD_MAX; max of the first quarter $FD_Q1, of the last quarter $FD_Q4 | $V_FD |
| no lost or doubled notification | log channel $N_SENT ($(cat "$T/kinds")digests $DIGESTS); webhook accepted $N_GOT; lost $LOST, doubled $DOUBLED, alerts out of order $REORDERED; outbox drained: ${DRAINED:-no} | $V_NOTE |
| lag p99 unchanged by hostile checks | p99 $LAG_FULL ms with them, $LAG_REF ms without (PASS: ≤ 1.25 × ref + 1 ms) | $V_LAG |
| (lag, steady state) | mean lag after warm-up $LAGM_FULL ms with them, $LAGM_REF ms without (from the summary's _sum/_count; the reference's warm-up is its whole first ${WARM}s too) | (information) |
| sonde survives, exits 0 on SIGTERM | exit $SONDE_RC | $V_ALIVE |

- healthy checks (h-*, targets never down) that failed a probe: $(grep 'sub=check' "$T/full.log" | grep ' check=h-' | grep -c 'state=failing') state changes to failing ($(grep 'sub=check' "$T/full.log" | grep ' check=h-' | grep 'state=failing' | grep -o 'reason=[a-z_]*' | sort | uniq -c | awk '{printf "%s %s, ", $2, $1}')first at $(grep 'sub=check' "$T/full.log" | grep ' check=h-' | grep -m1 'state=failing' | cut -c6-28), last at $(grep 'sub=check' "$T/full.log" | grep ' check=h-' | grep 'state=failing' | tail -1 | cut -c6-28)); in the reference: $(grep 'sub=check' "$T/ref.log" 2>/dev/null | grep ' check=h-' | grep -c 'state=failing'); notifications for them: $(grep -c 'notification=[a-z]* alert=down/h-' "$T/full.log")
- notifications that differ: $(cat "$T/diffkeys")
- sonde, full run: \`$FULL_STOPPED\`
- sonde, reference: \`${REF_STOPPED:-none}\`
- last /metrics sample (t,rss,anon,hwm,fds,ticks,outbox,busy,flap,lag_p99_ms,in_flight,pending,delivered,retries,rejected,dropped,lag_sum_s,lag_count): \`$LAST_M\`
- hostile: \`$(tail -1 "$T/hostile.out")\`
- webhook: \`$(tail -1 "$T/full.hook")\`
- sonde log lines by kind: $(grep -o 'sub=[a-z/]*' "$T/full.log" | sort | uniq -c | awk '{printf "%s %s, ", $2, $1}')
  warnings/errors: $(grep -c -E 'level=(warn|error|fatal)' "$T/full.log")

<details><summary>samples every 10 s (CSV)</summary>

\`\`\`
$(cat "$CSV")
\`\`\`
</details>
REP
)
echo "$REPORT"
mkdir -p "$SRCDIR/bench/results"
OUT=$SRCDIR/bench/results/soak-$(date -u +%Y%m%d-%H%M).md
echo "$REPORT" > "$OUT"
echo "soak: report in $OUT"
