#!/bin/sh
# bench/kinds.sh: /probe with http and dns modules, sonde side by side with
# Debian's prometheus-blackbox-exporter (not a test).
#
# Same local targets for both: a python HTTP/1.1 responder (200, 5 bytes)
# and a python UDP DNS responder (one SOA answer).  For each module and
# exporter: median and p90 latency of N sequential /probe requests and CPU
# µs per request of the exporter's process (utime+stime from
# /proc/PID/stat), repeated R times (medians, min-max beside them), then
# the metric families each exporter wrote for the module, and which are
# only in one of them.
#
# Loopback only; every loop bounded.  Needs curl, python3 and
# prometheus-blackbox-exporter.
# Usage: bench/kinds.sh [path/to/sonde] [requests=300] [repeats=3]
set -eu
SONDE=${1:-./sonde}
N=${2:-300}
R=${3:-3}
TMP=$(mktemp -d)
PIDS=""
cleanup() { for p in $PIDS; do kill "$p" 2>/dev/null || true; done; rm -rf "$TMP"; }
trap cleanup EXIT INT TERM
TICK=$(getconf CLK_TCK)
BB=$(command -v prometheus-blackbox-exporter || true)
[ -n "$BB" ] || { echo "apt-get install prometheus-blackbox-exporter" >&2; exit 1; }

freeport() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
hwm_kb() { awk '/VmHWM/{print $2}' "/proc/$1/status"; }
median() { sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
p90() { sort -n | awk '{a[NR]=$1} END{print a[int(NR*0.9+0.5)]}'; }
range() { sort -n | awk '{a[NR]=$1} END{printf "%s (%s-%s)", a[int((NR+1)/2)], a[1], a[NR]}'; }
wait_port() { i=0; while ! curl -s -o /dev/null "http://127.0.0.1:$1/$2"; do i=$((i+1)); [ $i -lt 100 ] || { echo "port $1 never answered" >&2; exit 1; }; sleep 0.1; done; }

HPORT=$(freeport)
python3 -c '
import http.server,sys
class H(http.server.BaseHTTPRequestHandler):
    protocol_version="HTTP/1.1"
    def do_GET(self):
        self.send_response(200); self.send_header("Content-Length","5")
        self.send_header("Connection","close"); self.end_headers()
        self.wfile.write(b"hello")
    def log_message(self,*a): pass
http.server.ThreadingHTTPServer(("127.0.0.1",int(sys.argv[1])),H).serve_forever()' "$HPORT" &
PIDS="$PIDS $!"
DPORT=$(freeport)
python3 -c '
import socket,struct,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind(("127.0.0.1",int(sys.argv[1])))
soa=bytes([0xc0,0x0c,0,6,0,1,0,0,0x0e,0x10,0,22,0,0])+struct.pack(">5I",2024010101,7200,3600,1209600,3600)
while True:
    m,a=s.recvfrom(4096)
    if len(m)<12: continue
    i=12
    while m[i]: i+=m[i]+1
    q=m[12:i+5]
    s.sendto(m[:2]+bytes([0x85,0x80,0,1,0,1,0,0,0,0])+q+soa,a)' "$DPORT" &
PIDS="$PIDS $!"

SPORT=$(freeport); BPORT=$(freeport)
cat > "$TMP/s.conf" <<EOC
agent: { listen = "127.0.0.1:$SPORT"; };
modules = {
  http_2xx = { type = "http"; timeout = "5s"; };
  dns_soa = { type = "dns"; query = "example.com"; record = "SOA"; timeout = "5s"; };
};
checks = ();
EOC
cat > "$TMP/bb.yml" <<EOC
modules:
  http_2xx:
    prober: http
    timeout: 5s
  dns_soa:
    prober: dns
    timeout: 5s
    dns:
      query_name: example.com
      query_type: SOA
      preferred_ip_protocol: ip4
EOC
"$SONDE" -c "$TMP/s.conf" 2>/dev/null & SP=$!; PIDS="$PIDS $SP"
"$BB" --config.file="$TMP/bb.yml" --web.listen-address="127.0.0.1:$BPORT" 2>/dev/null & BP=$!; PIDS="$PIDS $BP"
wait_port "$SPORT" healthz; wait_port "$BPORT" metrics

echo "== /probe, $N sequential requests per run, $R runs: median (min-max) of the runs' figures"
echo "   (sonde $("$SONDE" --version 2>/dev/null | head -1); $("$BB" --version 2>&1 | head -1))"
printf '%-10s %-9s %22s %22s %24s %10s\n' module exporter p50_ms p90_ms cpu_us/probe VmHWM_kB
for mod in http_2xx:127.0.0.1:$HPORT dns_soa:127.0.0.1:$DPORT; do
	m=${mod%%:*}; target=${mod#*:}
	for who in sonde:$SPORT:$SP blackbox:$BPORT:$BP; do
		name=${who%%:*}; rest=${who#*:}; port=${rest%%:*}; pid=${rest#*:}
		: > "$TMP/r50"; : > "$TMP/r90"; : > "$TMP/rcpu"
		r=0; while [ $r -lt "$R" ]; do
			: > "$TMP/lat"
			c0=$(cpu_ticks "$pid")
			i=0; while [ $i -lt "$N" ]; do
				curl -s -o "$TMP/p.$name.$m" -w '%{time_total}\n' "http://127.0.0.1:$port/probe?module=$m&target=$target" >> "$TMP/lat"; i=$((i+1)); done
			c1=$(cpu_ticks "$pid")
			grep -q '^probe_success 1' "$TMP/p.$name.$m" || { echo "$name $m: probe failed" >&2; cat "$TMP/p.$name.$m" >&2; exit 1; }
			awk '{print $1*1000}' "$TMP/lat" | median >> "$TMP/r50"
			awk '{print $1*1000}' "$TMP/lat" | p90 >> "$TMP/r90"
			echo $(( (c1 - c0) * 1000000 / TICK / N )) >> "$TMP/rcpu"
			r=$((r+1))
		done
		printf '%-10s %-9s %22s %22s %24s %10d\n' "$m" "$name" \
		    "$(range < "$TMP/r50")" "$(range < "$TMP/r90")" \
		    "$(range < "$TMP/rcpu")" "$(hwm_kb "$pid")"
	done
	fam() { grep '^# TYPE' "$1" | awk '{print $3}' | sort -u; }
	fam "$TMP/p.sonde.$m" > "$TMP/fs"; fam "$TMP/p.blackbox.$m" > "$TMP/fb"
	echo "   $m families only in sonde:    $(comm -23 "$TMP/fs" "$TMP/fb" | tr '\n' ' ')"
	echo "   $m families only in blackbox: $(comm -13 "$TMP/fs" "$TMP/fb" | tr '\n' ' ')"
done
