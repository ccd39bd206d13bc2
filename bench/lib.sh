# shellcheck shell=bash
# SPDX-License-Identifier: ISC
#
# bench/lib.sh: the pieces bench/run and bench/kinds_scale.sh share, sourced
# by bash (not run).  Free loopback ports; private nginx, knotd,
# blackbox_exporter and prometheus instances whose PIDs are recorded so
# that cleanup stops those and nothing else; a process's CPU (clock ticks
# and schedstat nanoseconds), peak RSS (VmHWM); the host's busy and steal
# share and a bounded wait for a quiet host; sonde's SIGTERM summary line;
# median (min–max) over the runs' key=value lines.  Factored out of
# bench/tcp.sh, bench/http.sh, bench/tls.sh and bench/dns.sh; all but
# tls.sh source it now.  Every wait here is bounded in count and time.

BL_TMP=
BL_PIDS=()
BL_QUIET_SPENT=0
BL_QUIET_BUDGET=${BL_QUIET_BUDGET:-40}
BL_KEEP=${BL_KEEP:-0}
BL_CLK_TCK=$(getconf CLK_TCK)

bl_say() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
bl_die() { printf '%s: %s\n' "${0##*/}" "$*" >&2; exit 1; }

# bl_need CMD PACKAGE: fails, naming the Debian package, if CMD is missing.
# bl_builddir DIR PROG...: prints DIR as an absolute path, or dies; dies
# too when a PROG (relative to DIR) is not built.
bl_builddir() {
	local d b
	d=$(cd "$1" && pwd) || bl_die "no build directory $1"
	shift
	for b in "$@"; do
		[ -x "$d/$b" ] || bl_die "$d/$b is not built (make bench)"
	done
	printf '%s\n' "$d"
}
bl_need() {
	command -v "$1" >/dev/null 2>&1 || [ -x "/usr/sbin/$1" ] ||
	    bl_die "$1 is missing: apt-get install -y $2"
}

# bl_forget PID: drops PID from the cleanup list once it has been waited
# for: the kernel may give the number to someone else's process then.
bl_forget() {
	local p keep=()
	for p in "${BL_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	BL_PIDS=("${keep[@]}")
}

# bl_reap PID: waits for a process we started that ends by itself.
bl_reap() {
	local rc=0
	wait "$1" 2>/dev/null || rc=$?
	bl_forget "$1"
	return "$rc"
}

# Stops one process we started: TERM, up to 5 s, then KILL; then forgets
# it.  Only ever called with a PID of ours that has not been waited for.
bl_stop() {
	local pid=$1 i
	if kill -0 "$pid" 2>/dev/null; then
		kill -TERM "$pid" 2>/dev/null || true
		for ((i = 0; i < 50; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			sleep 0.1
		done
		kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null || true
	bl_forget "$pid"
}

bl_cleanup() {
	local rc=$? pid
	trap - EXIT INT TERM
	for pid in "${BL_PIDS[@]}"; do
		bl_stop "$pid"
	done
	BL_PIDS=()
	if [ -n "$BL_TMP" ]; then
		if [ "$BL_KEEP" = 1 ]; then bl_say "kept $BL_TMP"
		else rm -rf "$BL_TMP"; fi
	fi
	exit "$rc"
}

# bl_init NAME: a private temporary directory and the cleanup trap.
bl_init() {
	BL_TMP=$(mktemp -d "${TMPDIR:-/tmp}/sonde-$1.XXXXXX")
	trap bl_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
}

# bl_spawn LOG CMD...: starts CMD in the background, output to LOG, and
# records its PID (in BL_PID and for the cleanup).
bl_spawn() {
	local log=$1
	shift
	"$@" >"$log" 2>&1 &
	BL_PID=$!
	BL_PIDS+=("$BL_PID")
}

# A port free for both TCP and UDP on 127.0.0.1 (knotd wants both).
bl_free_port() {
	python3 -c 'import socket
for _ in range(50):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("127.0.0.1", 0))
    p = u.getsockname()[1]; t = socket.socket()
    try:
        t.bind(("127.0.0.1", p)); print(p); break
    except OSError: pass
    finally: t.close(); u.close()'
}

# bl_wait_tcp PORT PID: until something accepts on PORT (10 s at most);
# returns 1 if PID exits first.
bl_wait_tcp() {
	local i
	for ((i = 0; i < 200; i++)); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.05
	done
	bl_die "nothing listens on 127.0.0.1:$1 after 10 s"
}

# bl_listen LOG CMD...: starts a server whose command line holds PORT
# where its port goes, on a fresh free port; up to 3 times, since a free
# port can be taken (by an outgoing probe's ephemeral port) before the
# server binds it.  Sets BL_PID and BL_PORT.
bl_listen() {
	local log=$1 try a args
	shift
	for ((try = 0; try < 3; try++)); do
		BL_PORT=$(bl_free_port)
		args=()
		for a in "$@"; do args+=("${a//PORT/$BL_PORT}"); done
		bl_spawn "$log" "${args[@]}"
		bl_wait_tcp "$BL_PORT" "$BL_PID" && return 0
		bl_reap "$BL_PID" || true
	done
	tail -5 "$log" >&2
	bl_die "$1 could not listen on a free port, 3 tries (log above)"
}

# bl_tcp_sink LOG BIN [ARGS...]: starts bench/tcp_sink (BIN) on a port of
# its own choosing and waits (5 s at most) for the port it prints first.
# Sets BL_PID and BL_PORT.
bl_tcp_sink() {
	local log=$1 i
	shift
	bl_spawn "$log" "$@"
	for ((i = 0; i < 100; i++)); do
		[ -s "$log" ] && break
		kill -0 "$BL_PID" 2>/dev/null ||
		    bl_die "tcp_sink exited: $(cat "$log")"
		sleep 0.05
	done
	read -r BL_PORT <"$log" || bl_die "tcp_sink printed no port"
	[[ $BL_PORT =~ ^[0-9]+$ ]] || bl_die "tcp_sink printed '$BL_PORT'"
}

# ---- measurements -------------------------------------------------------

# utime+stime of PID in clock ticks (fields 14 and 15 of /proc/PID/stat).
bl_ticks() {
	local stat rest
	read -r stat <"/proc/$1/stat" || return 1
	rest=${stat##*) }
	# shellcheck disable=SC2086
	set -- $rest
	echo $(( ${12} + ${13} ))
}

# On-CPU nanoseconds of PID's live threads (schedstat): a precise figure
# where a tick is 10 ms.
bl_cpu_ns() {
	local f total=0 ns rest
	for f in /proc/"$1"/task/*/schedstat; do
		read -r ns rest <"$f" 2>/dev/null || continue
		total=$(( total + ns ))
	done
	echo "$total"
}

# bl_kb PID KEY: a /proc/PID/status figure in kB (VmHWM, VmRSS, RssAnon).
bl_kb() { awk -v k="$2:" '$1 == k { print $2; exit }' "/proc/$1/status"; }

# "total idle steal" jiffies of the whole host.
bl_host_jiffies() {
	awk '$1 == "cpu" { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9,
		$5 + $6, $9; exit }' /proc/stat
}

# bl_host_load BEFORE AFTER: busy and steal % of all CPUs in between.
bl_host_load() {
	awk -v a="$1" -v b="$2" 'BEGIN { split(a, x); split(b, y)
		t = y[1] - x[1]; if (t <= 0) t = 1
		printf "host_busy_pct=%.0f steal_pct=%.1f",
		    100 * (t - (y[2] - x[2])) / t, 100 * (y[3] - x[3]) / t }'
}

# Waits until the host is quiet (busy < 25 % of all CPUs over 1 s), at most
# 10 s per call and BL_QUIET_BUDGET seconds in all: a run measured while a
# neighbour compiles measures the neighbour.
bl_wait_quiet() {
	local i h0 busy
	for ((i = 0; i < 10 && BL_QUIET_SPENT < BL_QUIET_BUDGET; i++)); do
		h0=$(bl_host_jiffies)
		sleep 1
		busy=$(bl_host_load "$h0" "$(bl_host_jiffies)")
		busy=${busy#host_busy_pct=}; busy=${busy%% *}
		[ "$busy" -lt 25 ] && return 0
		BL_QUIET_SPENT=$((BL_QUIET_SPENT + 1))
		[ "$i" = 0 ] && bl_say "host busy ${busy}%; waiting"
	done
	return 0
}

# bl_kv LINE KEY: the value of KEY in a logfmt line ("" if absent).
bl_kv() {
	printf '%s\n' "$1" | awk -v k="$2" '{
		for (i = 1; i <= NF; i++) {
			p = index($i, "=")
			if (p > 0 && substr($i, 1, p - 1) == k) {
				v = substr($i, p + 1); gsub(/"/, "", v)
				print v; exit
			}
		}
	}'
}

# ---- reporting ------------------------------------------------------------

# bl_med FILE FILTER FIELD [int]: "median (min–max)" of FIELD over the
# key=value lines of FILE matching FILTER (an awk condition on f["key"]);
# "n/a" if none.  Medians of an even count average the middle two.  With
# "int", a field whose values are all whole (a count) has no decimals.
bl_med() {
	awk -v fld="$3" -v whole="${4:-}" '
	{
		delete f
		for (i = 1; i <= NF; i++) {
			p = index($i, "="); f[substr($i, 1, p - 1)] = substr($i, p + 1)
		}
		if (!('"$2"')) next
		if (f[fld] == "" || f[fld] == "n/a") next
		v[++k] = f[fld] + 0
		if (v[k] != int(v[k])) frac = 1
	}
	END {
		if (k == 0) { print "n/a"; exit }
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
			if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		m = k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
		nodec = m >= 100 || (whole != "" && !frac)
		fmt = nodec ? "%.0f" : m >= 10 ? "%.1f" : "%.2f"
		s = sprintf(fmt, m)
		if (k > 1)
			s = s sprintf(" (" fmt "–" fmt ")", v[1], v[k])
		print s
	}' "$1"
}

# The median alone, from a bl_med figure.
bl_first() { printf '%s\n' "${1%% *}"; }

# The median of the numbers on stdin, one a line, as written (the mean of
# the middle two for an even count).
bl_median() {
	sort -g | awk '{ v[NR] = $1 }
	    END { print NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# ---- servers --------------------------------------------------------------

# bl_pki DIR: a private CA and a leaf for bench.example, localhost and
# 127.0.0.1 (ECDSA P-256), made with the openssl command line.
bl_pki() {
	local d=$1
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$d/ca.key" -out "$d/ca.pem" -subj "/CN=sonde bench CA" \
	    -days 2 -addext basicConstraints=critical,CA:TRUE 2>/dev/null
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$d/leaf.key" -out "$d/leaf.csr" -subj "/CN=bench.example" \
	    2>/dev/null
	printf 'subjectAltName=DNS:bench.example,DNS:localhost,IP:127.0.0.1\n' \
	    >"$d/san.ext"
	openssl x509 -req -in "$d/leaf.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" \
	    -CAcreateserial -days 2 -extfile "$d/san.ext" -out "$d/leaf.pem" \
	    2>/dev/null
}

# bl_nginx DIR HTTP_PORT TLS_PORT: one worker, "200 ok" on every path,
# TLS 1.3 without session reuse on TLS_PORT (bl_pki DIR first).
bl_nginx() {
	local d=$1
	mkdir -p "$d/ng"
	cat >"$d/ng/nginx.conf" <<EOF
daemon off; master_process off; worker_processes 1;
worker_rlimit_nofile 16384;
pid $d/ng/nginx.pid; error_log $d/ng/error.log warn;
events { worker_connections 8192; }
http { access_log off; default_type text/plain;
  client_body_temp_path $d/ng/t1; proxy_temp_path $d/ng/t2;
  fastcgi_temp_path $d/ng/t3; uwsgi_temp_path $d/ng/t4;
  scgi_temp_path $d/ng/t5;
  server { listen 127.0.0.1:$2 backlog=4096; return 200 "ok\n"; }
  server { listen 127.0.0.1:$3 ssl backlog=4096;
    ssl_certificate $d/leaf.pem; ssl_certificate_key $d/leaf.key;
    ssl_protocols TLSv1.3; ssl_session_tickets off; ssl_session_cache off;
    return 200 "ok\n"; } }
EOF
	bl_spawn "$d/ng/stderr.log" nginx -e "$d/ng/error.log" -p "$d/ng" \
	    -c "$d/ng/nginx.conf"
	bl_wait_tcp "$2" "$BL_PID" && bl_wait_tcp "$3" "$BL_PID" ||
	    bl_die "nginx failed: $(tail -3 "$d/ng/error.log")"
}

# bl_knotd DIR PORT: knotd answering www.example.test A 192.0.2.10.
bl_knotd() {
	local d=$1/knot
	mkdir -p "$d"
	cat >"$d/example.test.zone" <<'EOF'
$ORIGIN example.test.
$TTL 300
@	IN SOA ns1 hostmaster 2026112701 3600 600 86400 60
	IN NS ns1
ns1	IN A 127.0.0.1
www	IN A 192.0.2.10
EOF
	cat >"$d/knot.conf" <<EOF
server:
  rundir: "$d"
  listen: 127.0.0.1@$2
  udp-workers: 1
  tcp-workers: 1
  background-workers: 1
log:
  - target: stderr
    any: error
database:
  storage: "$d"
template:
  - id: default
    storage: "$d"
    file: "%s.zone"
    journal-content: none
    zonefile-sync: -1
zone:
  - domain: example.test
EOF
	bl_spawn "$d/stderr.log" knotd -c "$d/knot.conf"
	bl_wait_tcp "$2" "$BL_PID" ||
	    bl_die "knotd failed: $(tail -3 "$d/stderr.log")"
	sleep 0.2			# the zone loads after the listener
}

# bl_blackbox_config FILE CA: the four modules the kinds use.
bl_blackbox_config() {
	cat >"$1" <<EOF
modules:
  tcp_connect:
    prober: tcp
    timeout: 2s
    tcp: { preferred_ip_protocol: ip4, ip_protocol_fallback: false }
  http_2xx:
    prober: http
    timeout: 2s
    http: { preferred_ip_protocol: ip4, ip_protocol_fallback: false }
  tls_connect:
    prober: tcp
    timeout: 2s
    tcp:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      tls: true
      tls_config: { ca_file: $2, server_name: bench.example }
  dns_a:
    prober: dns
    timeout: 2s
    dns:
      query_name: www.example.test
      query_type: A
      transport_protocol: udp
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      valid_rcodes: [NOERROR]
EOF
}

# bl_blackbox CONFIG LOG: starts blackbox_exporter; BL_PID, BL_PORT.
bl_blackbox() {
	bl_listen "$2" prometheus-blackbox-exporter --config.file="$1" \
	    --web.listen-address=127.0.0.1:PORT --log.level=warn
}

# bl_prometheus CONFIG DATADIR LOG: starts prometheus; BL_PID, BL_PORT.
bl_prometheus() {
	bl_listen "$3" prometheus --config.file="$1" \
	    --storage.tsdb.path="$2" --web.listen-address=127.0.0.1:PORT \
	    --log.level=warn
}

# The machine, for a report's header.
bl_machine() {
	printf '%s CPUs, %s, Linux %s, %s MB RAM' "$(nproc)" \
	    "$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)" \
	    "$(uname -r)" \
	    "$(awk '/^MemTotal/ { printf "%d", $2 / 1024 }' /proc/meminfo)"
}
