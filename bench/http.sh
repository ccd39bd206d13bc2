#!/bin/bash
# bench/http.sh: the http check's cost, side by side with Debian's
# prometheus-blackbox-exporter, in the same run.  A benchmark, not a test:
# it reports figures, it does not pass or fail.
#
#   bench/http.sh [BUILD_DIR]          (default: ./build)
#
# Environment: RUNS (repeats of the per-probe runs, default 3; medians are
# reported), WINDOW (seconds measured per run, default 15), SKIP_PAIR=1
# (skip the blackbox_exporter + prometheus load), QUICK=1 (one run each,
# short windows), ONLY_LOAD=1 (only the 500-check load against the pair).
#
# What it runs, all on 127.0.0.1 (nothing leaves the host):
#  1. nginx (worker_processes 1), HTTP and HTTPS (a private CA made here
#     with the openssl command line; RSA 2048 leaf), location /ok.
#  2. Per-probe CPU, HTTP then HTTPS: 200 checks at 1s (200 probes/s, a
#     fresh connection each) in sonde, then the same targets through
#     blackbox_exporter's /probe at the same rate (bench/http_driver,
#     evenly spread, like sonde's scheduler).  Both probers are pinned to
#     CPU 1 (taskset), nginx and the driver to CPU 0.  CPU is utime+stime
#     of the prober's process from /proc/PID/stat over the window after a
#     warm-up; probes in the window are rate x window.
#     Also the floor: a minimal libcurl multi client (http_driver with
#     FRESH=1) making the same requests to nginx, on the same CPU.
#  3. Scale: 2,000 HTTP checks at 10s in sonde: schedule lag (p50, p99,
#     max from sonde's "event=stopped" line), peak RSS (VmHWM), CPU.
#  4. The load users run: 500 HTTP checks every 5s in sonde, against
#     blackbox_exporter scraped by Debian's prometheus for the same 500
#     targets every 5s: CPU (% of one core) and RSS of sonde vs the pair.
#
# Needs: nginx, prometheus-blackbox-exporter, prometheus, openssl, curl
# (apt-get install nginx prometheus-blackbox-exporter prometheus openssl
# curl), and a built tree (make, then make bench/http_driver).
set -euo pipefail
# shellcheck source=bench/lib.sh
. "$(dirname "$0")/lib.sh"

BUILD=${1:-./build}
SONDE=$BUILD/sonde
DRIVER=$BUILD/bench/http_driver
RUNS=${RUNS:-3}
WINDOW=${WINDOW:-15}
if [ -n "${QUICK:-}" ]; then RUNS=1; WINDOW=8; fi
HZ=$BL_CLK_TCK

bl_need nginx nginx
bl_need prometheus-blackbox-exporter prometheus-blackbox-exporter
bl_need prometheus prometheus
bl_need openssl openssl
bl_need curl curl
bl_need taskset util-linux
bl_need python3 python3
[ -x "$SONDE" ] || bl_die "no $SONDE (build first)"
[ -x "$DRIVER" ] || make -C "$BUILD" bench/http_driver >/dev/null

bl_init bench-http
T=$BL_TMP


# ---- nginx with a private CA ------------------------------------------------
NG_HTTP=$(bl_free_port); NG_HTTPS=$(bl_free_port)
(
	cd "$T"
	openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem \
	    -subj /CN=sonde-bench-ca -days 2 2>/dev/null
	openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr \
	    -subj /CN=localhost 2>/dev/null
	printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' > srv.ext
	openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
	    -days 2 -extfile srv.ext -out srv.pem 2>/dev/null
	cat srv.pem ca.pem > chain.pem
)
mkdir -p "$T/nginx/tmp"
cat > "$T/nginx/nginx.conf" <<EOF
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
EOF
bl_spawn "$T/nginx/stderr.log" taskset -c 0 nginx -e "$T/nginx/error.log" \
    -p "$T/nginx" -c "$T/nginx/nginx.conf"
bl_wait_tcp "$NG_HTTP" "$BL_PID" && bl_wait_tcp "$NG_HTTPS" "$BL_PID" ||
    bl_die "nginx failed: $(tail -3 "$T/nginx/error.log")"

# ---- blackbox_exporter ----------------------------------------------------------
cat > "$T/bb.yml" <<EOF
modules:
  http_2xx:
    prober: http
    timeout: 5s
    http: { preferred_ip_protocol: ip4, ip_protocol_fallback: false }
  https_2xx:
    prober: http
    timeout: 5s
    http:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      tls_config: { ca_file: $T/ca.pem }
EOF

# Starts blackbox_exporter on CPU 1, on a free port: BB_PID, BB.
bb_start() {
	bl_listen "$T/bb.log" taskset -c 1 prometheus-blackbox-exporter \
	    --config.file="$T/bb.yml" --web.listen-address=127.0.0.1:PORT \
	    --log.level=warn
	BB_PID=$BL_PID
	BB=$BL_PORT
}
bb_stop() { bl_stop "$BB_PID"; }

# sonde config: N checks at INTERVAL on SCHEME.
sonde_conf() {
	local n=$1 interval=$2 scheme=$3 port i
	port=$NG_HTTP; [ "$scheme" = https ] && port=$NG_HTTPS
	{
		echo "agent: { name = \"bench\"; max_in_flight = 1024; };"
		echo "defaults: { interval = \"$interval\"; timeout = \"1s\"; };"
		echo "checks = ("
		for i in $(seq 0 $((n - 1))); do
			[ "$i" -gt 0 ] && echo ","
			if [ "$scheme" = https ]; then
				printf '{ name = "c%d"; type = "http"; url = "https://localhost:%d/ok?i=%d"; ca_file = "%s"; }' \
				    "$i" "$port" "$i" "$T/ca.pem"
			else
				printf '{ name = "c%d"; type = "http"; url = "http://127.0.0.1:%d/ok?i=%d"; }' \
				    "$i" "$port" "$i"
			fi
		done
		echo ");"
	} > "$T/sonde.conf"
}

# Runs sonde on the config for warm + window seconds; sets CPU_US (per
# probe), CPU_PCT, HWM_KB, LAG (the stopped line), FAILED.
sonde_run() {
	local n=$1 interval_s=$2 warm=$3 window=$4 pid t0 t1 line
	bl_spawn "$T/sonde.log" taskset -c 1 "$SONDE" -f -c "$T/sonde.conf"
	pid=$BL_PID
	sleep "$warm"
	t0=$(bl_ticks "$pid")
	sleep "$window"
	t1=$(bl_ticks "$pid")
	HWM_KB=$(bl_kb "$pid" VmHWM)
	kill -TERM "$pid"
	bl_reap "$pid" || true
	line=$(grep 'event=stopped' "$T/sonde.log" | tail -1)
	LAG=$(echo "$line" | grep -o 'lag_p50_ms=.*')
	FAILED=$(echo "$line" | sed -n 's/.* failed=\([0-9]*\).*/\1/p')
	CPU_US=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v p="$(awk -v n="$n" -v i="$interval_s" -v w="$window" 'BEGIN{print n*w/i}')" \
	    'BEGIN { printf "%.0f", d * 1e6 / hz / p }')
	CPU_PCT=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v w="$window" 'BEGIN { printf "%.1f", d * 100 / hz / w }')
}

# Drives the exporter at RATE for warm + window; sets BB_CPU_US per probe.
bb_run() {
	local module=$1 scheme=$2 n=$3 rate=$4 warm=$5 window=$6 port t0 t1 out
	port=$NG_HTTP; [ "$scheme" = https ] && port=$NG_HTTPS
	local host=127.0.0.1; [ "$scheme" = https ] && host=localhost
	local tmpl="http://127.0.0.1:$BB/probe?module=$module&target=$scheme%3A%2F%2F$host%3A$port%2Fok%3Fi%3D%d"
	taskset -c 0 "$DRIVER" "$tmpl" "$n" "$rate" $((warm + window + 1)) \
	    'probe_success 1' >"$T/driver.out" &
	local dpid=$!
	BL_PIDS+=("$dpid")
	sleep "$warm"
	t0=$(bl_ticks "$BB_PID")
	sleep "$window"
	t1=$(bl_ticks "$BB_PID")
	bl_reap "$dpid"
	out=$(cat "$T/driver.out")
	BB_FAILED=$(echo "$out" | sed -n 's/.*failed=\([0-9]*\).*/\1/p')
	BB_CPU_US=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v p=$((rate * window)) \
	    'BEGIN { printf "%.0f", d * 1e6 / hz / p }')
	BB_HWM_KB=$(bl_kb "$BB_PID" VmHWM)
}

# The floor: a minimal libcurl multi client (bench/http_driver, FRESH=1)
# making the same requests straight to nginx; sets FLOOR_US per request.
floor_run() {
	local scheme=$1 n=$2 rate=$3 warm=$4 window=$5 port host dpid t0 t1
	port=$NG_HTTP; host=127.0.0.1
	[ "$scheme" = https ] && port=$NG_HTTPS && host=localhost
	FRESH=1 CA="$T/ca.pem" CAPATH=none taskset -c 1 "$DRIVER" \
	    "$scheme://$host:$port/ok?i=%d" "$n" "$rate" $((warm + window + 1)) \
	    >"$T/floor.out" &
	dpid=$!
	BL_PIDS+=("$dpid")
	sleep "$warm"
	t0=$(bl_ticks "$dpid")
	sleep "$window"
	t1=$(bl_ticks "$dpid")
	bl_reap "$dpid"
	FLOOR_US=$(awk -v d=$((t1 - t0)) -v hz="$HZ" -v p=$((rate * window)) \
	    'BEGIN { printf "%.0f", d * 1e6 / hz / p }')
}

echo "== sonde http bench: $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), libcurl $(curl-config --version 2>/dev/null | cut -d' ' -f2 || echo '?'), $(openssl version | cut -d' ' -f1-2)"

# ONLY_LOAD=1 runs section 4 alone (the realistic load, on a quiet machine).
if [ -z "${ONLY_LOAD:-}" ]; then
# ---- 2. per-probe CPU, sonde vs blackbox_exporter ------------------------------------
bb_start
for scheme in http https; do
	module=http_2xx; [ "$scheme" = https ] && module=https_2xx
	: > "$T/s.$scheme"; : > "$T/b.$scheme"; : > "$T/f.$scheme"; : > "$T/sr.$scheme"; : > "$T/br.$scheme"
	for r in $(seq "$RUNS"); do
		sonde_conf 200 1s "$scheme"
		sonde_run 200 1 4 "$WINDOW"
		echo "$CPU_US" >> "$T/s.$scheme"
		echo "$HWM_KB" >> "$T/sr.$scheme"
		echo "  run $r $scheme sonde: ${CPU_US} us/probe, ${CPU_PCT}% CPU, VmHWM ${HWM_KB} kB, failed=$FAILED, $LAG"
		bb_run "$module" "$scheme" 200 200 4 "$WINDOW"
		echo "$BB_CPU_US" >> "$T/b.$scheme"
		echo "$BB_HWM_KB" >> "$T/br.$scheme"
		echo "  run $r $scheme blackbox_exporter: ${BB_CPU_US} us/probe, VmHWM ${BB_HWM_KB} kB, failed=$BB_FAILED"
		floor_run "$scheme" 200 200 4 "$WINDOW"
		echo "$FLOOR_US" >> "$T/f.$scheme"
		echo "  run $r $scheme minimal libcurl client: ${FLOOR_US} us/request ($(cat "$T/floor.out"))"
	done
	s=$(bl_median < "$T/s.$scheme"); b=$(bl_median < "$T/b.$scheme")
	f=$(bl_median < "$T/f.$scheme")
	sr=$(bl_median < "$T/sr.$scheme"); br=$(bl_median < "$T/br.$scheme")
	printf '%-5s CPU per probe (median of %d): sonde %s us, blackbox_exporter %s us, ratio %.2f (spread sonde %s..%s, bb %s..%s); RSS sonde %s kB, bb %s kB, ratio %.2f\n' \
	    "$scheme" "$RUNS" "$s" "$b" "$(awk -v s="$s" -v b="$b" 'BEGIN{print s/b}')" \
	    "$(sort -g "$T/s.$scheme" | head -1)" "$(sort -g "$T/s.$scheme" | tail -1)" \
	    "$(sort -g "$T/b.$scheme" | head -1)" "$(sort -g "$T/b.$scheme" | tail -1)" \
	    "$sr" "$br" "$(awk -v s="$sr" -v b="$br" 'BEGIN{print s/b}')"
	printf '%-5s floor: a minimal libcurl multi client, fresh connections: %s us per request (sonde/floor %.2f)\n' \
	    "$scheme" "$f" "$(awk -v s="$s" -v f="$f" 'BEGIN{print s/f}')"
done
bb_stop

# ---- 3. scale: 2,000 checks at 10s -----------------------------------------------------
sonde_conf 2000 10s http
sonde_run 2000 10 11 $((WINDOW * 2))
echo "scale: 2000 http checks at 10s: ${CPU_US} us/probe, ${CPU_PCT}% CPU, VmHWM ${HWM_KB} kB, failed=$FAILED, $LAG"
fi

# ---- 4. 500 checks every 5s: sonde vs blackbox_exporter + prometheus ---------------------
[ -n "${SKIP_PAIR:-}" ] && exit 0
sonde_conf 500 5s http
sonde_run 500 5 6 $((WINDOW * 2))
S_PCT=$CPU_PCT; S_KB=$HWM_KB
echo "load: sonde, 500 http checks every 5s: ${CPU_PCT}% of one CPU, VmHWM ${HWM_KB} kB, failed=$FAILED, $LAG"

bb_start
{
	echo "global: { scrape_interval: 5s, scrape_timeout: 5s }"
	echo "scrape_configs:"
	echo "  - job_name: blackbox"
	echo "    metrics_path: /probe"
	echo "    params: { module: [http_2xx] }"
	echo "    static_configs:"
	echo "      - targets:"
	for i in $(seq 0 499); do echo "        - http://127.0.0.1:$NG_HTTP/ok?i=$i"; done
	echo "    relabel_configs:"
	echo "      - { source_labels: [__address__], target_label: __param_target }"
	echo "      - { source_labels: [__param_target], target_label: instance }"
	echo "      - { target_label: __address__, replacement: '127.0.0.1:$BB' }"
} > "$T/prom.yml"
bl_prometheus "$T/prom.yml" "$T/prom" "$T/prom.log"
PROM_PID=$BL_PID
PROM=$BL_PORT
sleep 15
p0=$(bl_ticks "$PROM_PID"); b0=$(bl_ticks "$BB_PID")
sleep $((WINDOW * 2))
p1=$(bl_ticks "$PROM_PID"); b1=$(bl_ticks "$BB_PID")
P_KB=$(bl_kb "$PROM_PID" VmRSS); B_KB=$(bl_kb "$BB_PID" VmRSS)
P_HWM=$(bl_kb "$PROM_PID" VmHWM); B_HWM=$(bl_kb "$BB_PID" VmHWM)
up=$(curl -s "http://127.0.0.1:$PROM/api/v1/query?query=sum(probe_success)" | grep -o '"value":\[[^]]*\]' || true)
W=$((WINDOW * 2))
PAIR_PCT=$(awk -v d=$((p1 - p0 + b1 - b0)) -v hz="$HZ" -v w="$W" 'BEGIN { printf "%.1f", d * 100 / hz / w }')
echo "load: blackbox_exporter $(awk -v d=$((b1 - b0)) -v hz="$HZ" -v w="$W" 'BEGIN { printf "%.1f", d * 100 / hz / w }')% + prometheus $(awk -v d=$((p1 - p0)) -v hz="$HZ" -v w="$W" 'BEGIN { printf "%.1f", d * 100 / hz / w }')% = ${PAIR_PCT}% of one CPU; RSS $B_KB + $P_KB kB (VmHWM $B_HWM + $P_HWM kB); sum(probe_success) $up"
echo "load ratio: sonde/pair CPU $(awk -v s="$S_PCT" -v p="$PAIR_PCT" 'BEGIN { printf "%.3f", s / p }'), RSS (sonde VmHWM / pair VmRSS) $(awk -v s="$S_KB" -v p=$((B_KB + P_KB)) 'BEGIN { printf "%.3f", s / p }')"
