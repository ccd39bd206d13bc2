#!/bin/bash
# SPDX-License-Identifier: ISC
#
# bench/tls.sh: TLS handshakes against a local nginx, side by side in the
# same run: sonde's tls check (the daemon, RATE checks at a 1 s interval),
# the minimal non-blocking OpenSSL handshake loop (bench/tls_minloop, the
# physical limit: same handshake, same verification, nothing else), and
# Debian's prometheus-blackbox-exporter with a tcp+tls module driven
# through /probe.  Each is run RUNS times, interleaved; the medians are
# reported, with the spread.
#
# Reports per tool: probes/s, CPU microseconds per probe of the prober's
# own process (utime+stime from /proc/PID/stat over a steady window), peak
# RSS (VmHWM), and for sonde its schedule lag and failures.
#
# usage: bench/tls.sh [RATE [SECONDS [RUNS]]]    (defaults 300 10 3)
# env:   SONDE=path/to/sonde  MINLOOP=path/to/tls_minloop  (default: ./)
#        NGINX=/usr/sbin/nginx  BLACKBOX=/usr/bin/prometheus-blackbox-exporter
# Only loopback traffic; every load loop is bounded in count and time.
set -euo pipefail

RATE=${1:-300}
SECS=${2:-10}
RUNS=${3:-3}
SONDE=${SONDE:-./sonde}
MINLOOP=${MINLOOP:-./bench/tls_minloop}
NGINX=${NGINX:-/usr/sbin/nginx}
BLACKBOX=${BLACKBOX:-/usr/bin/prometheus-blackbox-exporter}
WARMUP=2
TCK=$(getconf CLK_TCK)

for bin in "$SONDE" "$MINLOOP" "$NGINX" "$BLACKBOX"; do
	[ -x "$bin" ] || { echo "bench: $bin not found (build with" \
	    "'make bench/tls_minloop'; apt-get install nginx" \
	    "prometheus-blackbox-exporter)" >&2; exit 1; }
done

tmp=$(mktemp -d /tmp/sonde-bench-tls.XXXXXX)
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

free_port() {
	python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# ---- PKI (openssl CLI): an ECDSA P-256 root and leaf ----------------------
cd "$tmp"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout root.key -out root.pem -subj "/CN=Bench Root" -days 30 \
    -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout leaf.key -out leaf.csr -subj "/CN=bench.example" 2>/dev/null
printf 'subjectAltName=DNS:bench.example\n' > san.ext
openssl x509 -req -in leaf.csr -CA root.pem -CAkey root.key \
    -CAcreateserial -days 30 -extfile san.ext -out leaf.pem 2>/dev/null
cd - >/dev/null

# ---- nginx: one worker, TLS 1.3, no session reuse -------------------------
NPORT=$(free_port)
mkdir -p "$tmp/ng"
cat > "$tmp/ng/nginx.conf" <<EOF
daemon off; master_process off; worker_processes 1;
pid $tmp/ng/nginx.pid; error_log $tmp/ng/error.log warn;
events { worker_connections 4096; }
http { access_log off;
  client_body_temp_path $tmp/ng/t1; proxy_temp_path $tmp/ng/t2;
  fastcgi_temp_path $tmp/ng/t3; uwsgi_temp_path $tmp/ng/t4;
  scgi_temp_path $tmp/ng/t5;
  server { listen 127.0.0.1:$NPORT ssl backlog=4096;
    ssl_certificate $tmp/leaf.pem; ssl_certificate_key $tmp/leaf.key;
    ssl_protocols TLSv1.3; ssl_session_tickets off; ssl_session_cache off;
    return 200 "ok\n"; } }
EOF
"$NGINX" -p "$tmp/ng" -c "$tmp/ng/nginx.conf" -e "$tmp/ng/error.log" &
pids+=($!)
for _ in $(seq 100); do
	(exec 3<>/dev/tcp/127.0.0.1/$NPORT) 2>/dev/null && break
	sleep 0.05
done

# ---- helpers ----------------------------------------------------------------
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
hwm_kb() { awk '/VmHWM/ { print $2 }' "/proc/$1/status"; }

# sonde: RATE checks at 1 s; CPU over [WARMUP, WARMUP+SECS].
run_sonde() {
	local conf=$tmp/sonde.conf i pid c0 c1 hwm stop
	{
		printf 'agent: { name = "bench"; state_dir = "%s"; ' "$tmp"
		printf 'max_in_flight = %d; };\nchecks = (\n' $((RATE * 2))
		for i in $(seq "$RATE"); do
			printf '  { name = "t%d"; type = "tls"; host = "127.0.0.1";' "$i"
			printf ' port = %d; server_name = "bench.example";' "$NPORT"
			printf ' ca_file = "%s/root.pem"; interval = "1s";' "$tmp"
			printf ' timeout = "900ms"; }%s\n' "$([ "$i" -lt "$RATE" ] && echo ,)"
		done
		printf ');\n'
	} > "$conf"
	"$SONDE" -c "$conf" 2> "$tmp/sonde.log" &
	pid=$!
	sleep "$WARMUP"
	c0=$(cpu_ticks "$pid")
	sleep "$SECS"
	c1=$(cpu_ticks "$pid")
	hwm=$(hwm_kb "$pid")
	kill -TERM "$pid"
	wait "$pid" || true
	stop=$(grep -o 'event=stopped.*' "$tmp/sonde.log" | tail -1)
	# The grid runs RATE probes per second exactly (skipped=0 below).
	echo "$RATE $(( (c1 - c0) * 1000000 / TCK / (RATE * SECS) )) $hwm $stop"
}

run_minloop() {
	# On sonde's 50 ms grid (agent.schedule_grid's default), as sonde runs.
	"$MINLOOP" 127.0.0.1 "$NPORT" bench.example "$tmp/root.pem" "$RATE" \
	    "$SECS" 50 | sed -E 's/.*rate=([0-9.]+) cpu_us_per_probe=([0-9.]+) maxrss_kb=([0-9]+)/\1 \2 \3/'
}

# blackbox: tcp+tls module; 4 serial curl drivers at RATE/4 each.
run_blackbox() {
	local bport pid n c0 c1 hwm t0 t1 i per url cpids
	bport=$(free_port)
	cat > "$tmp/bb.yml" <<EOF
modules:
  tls:
    prober: tcp
    timeout: 2s
    tcp:
      tls: true
      tls_config:
        ca_file: $tmp/root.pem
        server_name: bench.example
EOF
	"$BLACKBOX" --config.file="$tmp/bb.yml" \
	    --web.listen-address="127.0.0.1:$bport" 2> "$tmp/bb.log" &
	pid=$!
	for _ in $(seq 100); do
		curl -sf "http://127.0.0.1:$bport/" >/dev/null && break
		sleep 0.05
	done
	url="http://127.0.0.1:$bport/probe?module=tls&target=127.0.0.1:$NPORT"
	curl -s "$url" | grep -q '^probe_success 1' || {
		echo "blackbox probe failed:" >&2; curl -s "$url" >&2; }
	per=$((RATE * SECS / 4))
	for i in $(seq "$per"); do echo "url = \"$url\""; echo "output = /dev/null"; done > "$tmp/urls"
	c0=$(cpu_ticks "$pid")
	t0=$(date +%s.%N)
	cpids=()
	for i in 1 2 3 4; do
		curl -s --rate "$((RATE / 4))/s" -K "$tmp/urls" &
		cpids+=($!)
	done
	wait "${cpids[@]}" || true
	t1=$(date +%s.%N)
	c1=$(cpu_ticks "$pid")
	hwm=$(hwm_kb "$pid")
	kill -TERM "$pid"
	wait "$pid" 2>/dev/null || true
	n=$((per * 4))
	echo "$(awk -v n=$n -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", n / (b - a) }') $(( (c1 - c0) * 1000000 / TCK / n )) $hwm"
}

median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] " (" v[1] "-" v[NR] ")" }'; }

echo "bench/tls.sh: rate=$RATE/s window=${SECS}s runs=$RUNS; nginx 1 worker, TLS 1.3, ECDSA P-256 leaf, X25519"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg); cores: $(nproc)"
: > "$tmp/r.sonde"; : > "$tmp/r.min"; : > "$tmp/r.bb"
for r in $(seq "$RUNS"); do
	s=$(run_sonde); echo "run $r sonde:    $s"; echo "$s" >> "$tmp/r.sonde"
	m=$(run_minloop); echo "run $r minloop:  $m"; echo "$m" >> "$tmp/r.min"
	b=$(run_blackbox); echo "run $r blackbox: $b"; echo "$b" >> "$tmp/r.bb"
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "medians (min-max) over $RUNS runs:"
echo "             probes/s        cpu_us/probe      peak_rss_kb"
for t in sonde min bb; do
	printf '%-10s %-15s %-17s %s\n' "$t" \
	    "$(cut -d' ' -f1 "$tmp/r.$t" | median)" \
	    "$(cut -d' ' -f2 "$tmp/r.$t" | median)" \
	    "$(cut -d' ' -f3 "$tmp/r.$t" | median)"
done
ms=$(cut -d' ' -f2 "$tmp/r.sonde" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
mm=$(cut -d' ' -f2 "$tmp/r.min" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
mb=$(cut -d' ' -f2 "$tmp/r.bb" | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
echo
echo "ratio sonde/minloop cpu per probe: $(awk -v a="$ms" -v b="$mm" 'BEGIN { printf "%.2f", a / b }') (target <= 1.15)"
echo "ratio blackbox/sonde cpu per probe: $(awk -v a="$mb" -v b="$ms" 'BEGIN { printf "%.2f", a / b }')"
