#!/bin/bash
# SPDX-License-Identifier: ISC
#
# bench/kinds_scale.sh: the per-kind engine of bench/run (not a test).
#
# For each kind (tcp, http, tls, dns) and each N (default 100, 1,000 and
# 10,000 checks at a 10 s interval), in the same invocation and interleaved:
# sonde running the N checks; Debian's prometheus-blackbox-exporter driven
# through /probe at the same probe rate with the matching module
# (bench/http_driver); and the kind's minimal loop (bench/tcp_minloop,
# http_minloop, tls_minloop, dns_minloop) at the same rate: the physical
# limit.  Then the realistic load: --load-checks checks of each kind at 5 s
# in sonde, against blackbox_exporter scraped by prometheus every 5 s for
# the same targets.  All targets are local: tcp_sink, nginx (HTTP and TLS
# 1.3 with a private CA) and knotd, on 127.0.0.1.
#
# Writes one key=value line per run to --raw FILE (bench/run reads it for
# the tables and the targets) and prints progress on stderr.  Every loop is
# bounded in count and time; cleanup stops only the PIDs started here.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

srcdir=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$srcdir/bench/lib.sh"

builddir=build
raw=
kinds=tcp,http,tls,dns
checks=100,1000,10000
interval_s=10
window=8
repeat=2
load_n=500
load_window=15
do_scale=1
do_load=1
do_mixed=1

usage() {
	cat <<'EOF'
usage: bench/kinds_scale.sh --raw FILE [options]
  --builddir DIR   sonde and the bench programs (build)
  --kinds LIST     comma-separated, of tcp,http,tls,dns (all four)
  --checks LIST    numbers of checks per kind (100,1000,10000)
  --window S       measured seconds per run, after one interval of
                   warm-up for sonde, 2 s for the others (8)
  --repeat R       runs per kind and N, interleaved (2)
  --load-checks N  checks per kind in the realistic load (500)
  --load-window S  measured seconds of the realistic load (15)
  --no-scale | --no-load | --no-mixed
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--builddir) builddir=${2:?}; shift ;;
	--raw) raw=${2:?}; shift ;;
	--kinds) kinds=${2:?}; shift ;;
	--checks) checks=${2:?}; shift ;;
	--window) window=${2:?}; shift ;;
	--repeat) repeat=${2:?}; shift ;;
	--load-checks) load_n=${2:?}; shift ;;
	--load-window) load_window=${2:?}; shift ;;
	--no-scale) do_scale=0 ;;
	--no-load) do_load=0 ;;
	--no-mixed) do_mixed=0 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
[ -n "$raw" ] || { usage >&2; exit 2; }
builddir=$(bl_builddir "$builddir" sonde bench/tcp_sink bench/tcp_minloop \
    bench/http_minloop bench/tls_minloop bench/dns_minloop \
    bench/http_driver) || exit 1
bl_need nginx nginx
bl_need knotd knot
bl_need prometheus-blackbox-exporter prometheus-blackbox-exporter
bl_need prometheus prometheus
bl_need openssl openssl
bl_need curl curl
bl_need python3 python3
IFS=, read -r -a kind_arr <<<"$kinds"
IFS=, read -r -a n_arr <<<"$checks"

bl_init bench-kinds
T=$BL_TMP
: >>"$raw"

# ---- the targets ----------------------------------------------------------

bl_pki "$T"
NG_HTTP=$(bl_free_port); NG_TLS=$(bl_free_port)
bl_nginx "$T" "$NG_HTTP" "$NG_TLS"
KNOT=$(bl_free_port)
bl_knotd "$T" "$KNOT"
bl_tcp_sink "$T/sink.out" "$builddir/bench/tcp_sink"
SINK=$BL_PORT
bl_blackbox_config "$T/bb.yml" "$T/ca.pem"

# The target of a kind: what sonde's check and blackbox's /probe name.
bb_module() {
	case $1 in
	tcp) echo tcp_connect ;; http) echo http_2xx ;;
	tls) echo tls_connect ;; dns) echo dns_a ;;
	esac
}
bb_target() {
	case $1 in
	tcp) echo "127.0.0.1:$SINK" ;;
	http) echo "http://127.0.0.1:$NG_HTTP/ok" ;;
	tls) echo "127.0.0.1:$NG_TLS" ;;
	dns) echo "127.0.0.1:$KNOT" ;;
	esac
}

# check_tmpl KIND: one sonde check, NAME standing for its name (names
# t00001...: the minimal loops derive sonde's due times from them).
check_tmpl() {
	case $1 in
	tcp) echo "{ name = \"NAME\"; type = \"tcp\"; host = \"127.0.0.1\"; port = $SINK; }" ;;
	http) echo "{ name = \"NAME\"; type = \"http\"; url = \"http://127.0.0.1:$NG_HTTP/ok\"; }" ;;
	tls) echo "{ name = \"NAME\"; type = \"tls\"; host = \"127.0.0.1\"; port = $NG_TLS; server_name = \"bench.example\"; ca_file = \"$T/ca.pem\"; }" ;;
	dns) echo "{ name = \"NAME\"; type = \"dns\"; server = \"127.0.0.1:$KNOT\"; query = \"www.example.test\"; expect = { answers_include = [\"192.0.2.10\"]; }; }" ;;
	esac
}

# gen_config FILE INTERVAL_S N KIND...: N checks of each KIND; validated
# once with sonde -t (a far clearer failure than a daemon that exits).
gen_config() {
	local f=$1 iv=$2 n=$3 k tmpls=
	shift 3
	mkdir -p "${f%/*}/state"
	for k in "$@"; do
		tmpls+="$k	$(check_tmpl "$k")"$'\n'
	done
	{
		printf 'agent: { name = "bench"; state_dir = "%s/state"; max_in_flight = 1024; };\n' \
		    "${f%/*}"
		printf 'defaults: { interval = "%ds"; timeout = "2s"; };\n' "$iv"
		printf 'checks = (\n'
		printf '%s' "$tmpls" | awk -F'\t' -v n="$n" -v nk=$# '
		{ k[NR] = $1; t[NR] = $2 }
		END {
			for (j = 1; j <= NR; j++)
				for (i = 1; i <= n; i++) {
					name = sprintf("%s%05d", nk > 1 ? k[j] : "t", i)
					e = t[j]; sub(/NAME/, name, e)
					print "  " e (j == NR && i == n ? "" : ",")
				}
		}'
		printf ');\n'
	} >"$f"
	"$builddir/sonde" -t -c "$f" >"$f.check" 2>&1 || {
		head -5 "$f.check" >&2
		bl_die "sonde -t rejected $f"
	}
}

# ---- one run of each prober -------------------------------------------------

# sleep_until EPOCH PID: sleeps until EPOCH (bounded: 600 s), failing if
# PID exits meanwhile.
sleep_until() {
	local i w
	for ((i = 0; i < 6000; i++)); do
		kill -0 "$2" 2>/dev/null || return 1
		w=$(awk -v e="$1" -v n="$EPOCHREALTIME" \
		    'BEGIN { w = e - n; if (w > 1) w = 1; printf "%.3f", w }')
		case $w in -*|0.000) return 0 ;; esac
		sleep "$w"
	done
}

# emit LINE: one run's figures, to the raw file and stderr.
emit() {
	printf '%s\n' "$1" >>"$raw"
	bl_say "  $1"
}

# run_sonde PHASE KIND N INTERVAL_S WINDOW_S REP [KIND...]: sonde on N
# checks of each KIND for one interval of warm-up and WINDOW_S measured.
run_sonde() {
	local phase=$1 kind=$2 n=$3 iv=$4 win=$5 rep=$6 dir conf log pid
	local t_start t0 t1 c0 c1 ns0 ns1 h0 h1 hwm rss sum total el
	shift 6
	dir=$T/sonde-$phase-$kind-$n; conf=$dir/sonde.conf
	log=$dir/sonde-$rep.log
	[ -f "$conf" ] || { mkdir -p "$dir"; gen_config "$conf" "$iv" "$n" "$@"; }
	bl_wait_quiet
	t_start=$EPOCHREALTIME
	bl_spawn "$log" "$builddir/sonde" -c "$conf"
	pid=$BL_PID
	sleep_until "$(awk -v s="$t_start" -v d="$iv" 'BEGIN { printf "%.6f", s + d }')" \
	    "$pid" || { tail -5 "$log" >&2; bl_die "sonde exited in warm-up"; }
	c0=$(bl_ticks "$pid"); ns0=$(bl_cpu_ns "$pid"); h0=$(bl_host_jiffies)
	t0=$EPOCHREALTIME
	sleep_until "$(awk -v s="$t0" -v d="$win" 'BEGIN { printf "%.6f", s + d }')" \
	    "$pid" || { tail -5 "$log" >&2; bl_die "sonde exited"; }
	c1=$(bl_ticks "$pid"); ns1=$(bl_cpu_ns "$pid"); h1=$(bl_host_jiffies)
	t1=$EPOCHREALTIME
	hwm=$(bl_kb "$pid" VmHWM); rss=$(bl_kb "$pid" VmRSS)
	bl_stop "$pid"
	el=$(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')
	sum=$(grep 'event=stopped' "$log" | tail -1)
	[ -n "$sum" ] || bl_die "sonde wrote no event=stopped line ($log)"
	total=$(bl_kv "$sum" probes)
	emit "$(awk -v ph="$phase" -v k="$kind" -v n="$n" -v r="$rep" \
	    -v tot="$total" -v el="$el" -v w="$(awk -v a="$t0" -v b="$t1" \
	    'BEGIN { print b - a }')" -v dns="$((ns1 - ns0))" \
	    -v dt="$((c1 - c0))" -v tck="$BL_CLK_TCK" -v hwm="$hwm" \
	    -v rss="$rss" 'BEGIN {
		ps = tot / el; p = ps * w
		printf "phase=%s kind=%s who=sonde n=%d rep=%d", ph, k, n, r
		printf " probes_s=%.1f cpu_us_probe=%.2f", ps, dns / 1e3 / p
		printf " cpu_us_probe_ticks=%.1f", dt * 1e6 / tck / p
		printf " cpu_pct=%.2f hwm_mb=%.2f rss_mb=%.2f", \
		    dns / 1e7 / w, hwm / 1024, rss / 1024
	}') lag_p50_ms=$(bl_kv "$sum" lag_p50_ms) lag_p99_ms=$(bl_kv "$sum" lag_p99_ms) lag_max_ms=$(bl_kv "$sum" lag_max_ms) failed=$(bl_kv "$sum" failed) skipped=$(bl_kv "$sum" skipped) $(bl_host_load "$h0" "$h1")"
}

# urlenc S: S percent-encoded for a query string.
urlenc() {
	python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$1"
}

# run_blackbox KIND N REP: blackbox_exporter driven through /probe at N
# probes per interval, evenly spread; 2 s warm-up, WINDOW measured.
run_blackbox() {
	local kind=$1 n=$2 rep=$3 rate pid dpid c0 c1 ns0 ns1 h0 h1 out secs
	local tmpl
	rate=$(awk -v n="$n" -v i="$interval_s" 'BEGIN { print n / i }')
	secs=$((window + 3))
	bl_wait_quiet
	bl_blackbox "$T/bb.yml" "$T/bb-$kind-$n-$rep.log"
	pid=$BL_PID; BB=$BL_PORT
	tmpl="http://127.0.0.1:$BB/probe?module=$(bb_module "$kind")"
	tmpl+="&target=$(urlenc "$(bb_target "$kind")")&n=%d"
	bl_spawn "$T/driver.out" "$builddir/bench/http_driver" "$tmpl" "$n" \
	    "$rate" "$secs" 'probe_success 1'
	dpid=$BL_PID
	sleep 2
	c0=$(bl_ticks "$pid"); ns0=$(bl_cpu_ns "$pid"); h0=$(bl_host_jiffies)
	sleep "$window"
	c1=$(bl_ticks "$pid"); ns1=$(bl_cpu_ns "$pid"); h1=$(bl_host_jiffies)
	hwm=$(bl_kb "$pid" VmHWM)
	bl_reap "$dpid" || true
	bl_stop "$pid"
	out=$(tail -1 "$T/driver.out")
	emit "$(awk -v k="$kind" -v n="$n" -v r="$rep" -v secs="$secs" \
	    -v ok="$(bl_kv "$out" ok)" -v w="$window" -v dns="$((ns1 - ns0))" \
	    -v dt="$((c1 - c0))" -v tck="$BL_CLK_TCK" -v hwm="$hwm" 'BEGIN {
		ps = ok / secs; p = ps * w; if (p <= 0) p = 1
		printf "phase=scale kind=%s who=blackbox n=%d rep=%d", k, n, r
		printf " probes_s=%.1f cpu_us_probe=%.2f", ps, dns / 1e3 / p
		printf " cpu_us_probe_ticks=%.1f hwm_mb=%.2f", \
		    dt * 1e6 / tck / p, hwm / 1024
	}') $out $(bl_host_load "$h0" "$h1")"
}

# run_minloop KIND N REP: the kind's minimal loop at the same rate.
run_minloop() {
	local kind=$1 n=$2 rep=$3 rate out h0 rc=0 b=$builddir/bench
	local ms=$((interval_s * 1000)) line
	rate=$(awk -v n="$n" -v i="$interval_s" 'BEGIN { print n / i }')
	bl_wait_quiet
	h0=$(bl_host_jiffies)
	case $kind in
	# Every floor starts its probes on sonde's grid, so it wakes up as
	# sonde does: 50 ms (agent.schedule_grid's default), and for tls the
	# finer grid sonde gives handshakes (sched_handshake_grid(): the
	# largest divisor of 50 ms holding at most 5 a step).
	tcp) out=$("$b/tcp_minloop" --port "$SINK" --checks "$n" \
	    --interval "$ms" --grid 50 --duration $((window + 2)) \
	    --warmup 2) || rc=$? ;;
	http) out=$("$b/http_minloop" --port "$NG_HTTP" --path /ok \
	    --checks "$n" --interval "$ms" --grid 50 \
	    --duration $((window + 2)) --warmup 2) || rc=$? ;;
	tls) out=$("$b/tls_minloop" 127.0.0.1 "$NG_TLS" bench.example \
	    "$T/ca.pem" "$rate" "$window" "$(awk -v r="$rate" 'BEGIN {
		for (d = 50; d > 1; d--) if (50 % d == 0 && r * d <= 5000) break
		print d }')") || rc=$? ;;
	dns) out=$(DNS_MINLOOP_GRID_MS=50 "$b/dns_minloop" "$KNOT" \
	    www.example.test \
	    "$(awk -v r="$rate" -v w="$window" 'BEGIN { printf "%d", r * w }')" \
	    "$rate") || rc=$? ;;
	esac
	line="phase=scale kind=$kind who=minloop n=$n rep=$rep exit=$rc"
	case $kind in
	tcp|http) line+=" probes_s=$(bl_kv "$out" probes_per_s)"
		line+=" cpu_us_probe=$(bl_kv "$out" cpu_us_per_probe)"
		line+=" lag_p50_ms=$(bl_kv "$out" lag_p50_ms)"
		line+=" lag_p99_ms=$(bl_kv "$out" lag_p99_ms)"
		line+=" lag_max_ms=$(bl_kv "$out" lag_max_ms)"
		line+=" errors=$(bl_kv "$out" errors)" ;;
	tls) line+=" probes_s=$(bl_kv "$out" rate)"
		line+=" cpu_us_probe=$(bl_kv "$out" cpu_us_per_probe)"
		line+=" errors=$(bl_kv "$out" failed)" ;;
	dns) line+=" probes_s=$(bl_kv "$out" qps)"
		line+=" cpu_us_probe=$(bl_kv "$out" cpu_us_per_query)"
		line+=" answered=$(bl_kv "$out" answered)" ;;
	esac
	emit "$line $(bl_host_load "$h0" "$(bl_host_jiffies)")"
}

# prom_config FILE N KIND...: prometheus scraping blackbox_exporter's
# /probe every 5 s for N targets of each KIND, one job per kind.  Each
# target has its own "check" label, as N distinct targets would.
prom_config() {
	local f=$1 n=$2 k
	shift 2
	{
		echo "global: { scrape_interval: 5s, scrape_timeout: 5s }"
		echo "scrape_configs:"
		for k in "$@"; do
			echo "  - job_name: bb_$k"
			echo "    metrics_path: /probe"
			echo "    params: { module: [$(bb_module "$k")] }"
			echo "    static_configs:"
			awk -v n="$n" -v t="$(bb_target "$k")" -v k="$k" 'BEGIN {
				for (i = 1; i <= n; i++)
					printf "      - { targets: [\"%s\"], labels: { check: \"%s%05d\" } }\n", t, k, i }'
			echo "    relabel_configs:"
			echo "      - { source_labels: [__address__], target_label: __param_target }"
			echo "      - { source_labels: [check], target_label: instance }"
			echo "      - { target_label: __address__, replacement: '127.0.0.1:$BB' }"
		done
	} >"$f"
}

# run_pair KIND N REP [KIND...]: blackbox_exporter + prometheus on the
# realistic load; 10 s warm-up (start, and two scrape intervals: each
# target is scraped at an offset within the interval), then the window.
run_pair() {
	local kind=$1 n=$2 rep=$3 bpid ppid prom b0 b1 p0 p1 h0 h1 t0 t1 up
	shift 3
	rm -rf "$T/promdata"
	bl_wait_quiet
	bl_blackbox "$T/bb.yml" "$T/bb-load-$kind-$rep.log"
	bpid=$BL_PID; BB=$BL_PORT
	prom_config "$T/prom-$kind.yml" "$n" "$@"
	bl_prometheus "$T/prom-$kind.yml" "$T/promdata" "$T/prom-$kind-$rep.log"
	ppid=$BL_PID; prom=$BL_PORT
	sleep 10
	b0=$(bl_cpu_ns "$bpid"); p0=$(bl_cpu_ns "$ppid"); h0=$(bl_host_jiffies)
	t0=$EPOCHREALTIME
	sleep "$load_window"
	b1=$(bl_cpu_ns "$bpid"); p1=$(bl_cpu_ns "$ppid"); h1=$(bl_host_jiffies)
	t1=$EPOCHREALTIME
	up=$(curl -s "http://127.0.0.1:$prom/api/v1/query?query=sum(probe_success)" |
	    sed -n 's/.*"value":\[[^,]*,"\([0-9.]*\)"\].*/\1/p')
	emit "$(awk -v k="$kind" -v n="$n" -v r="$rep" -v w="$(awk -v a="$t0" \
	    -v b="$t1" 'BEGIN { print b - a }')" -v b="$((b1 - b0))" \
	    -v p="$((p1 - p0))" -v bh="$(bl_kb "$bpid" VmHWM)" \
	    -v ph="$(bl_kb "$ppid" VmHWM)" -v br="$(bl_kb "$bpid" VmRSS)" \
	    -v pr="$(bl_kb "$ppid" VmRSS)" 'BEGIN {
		printf "phase=load kind=%s who=pair n=%d rep=%d", k, n, r
		printf " cpu_pct=%.2f bb_cpu_pct=%.2f prom_cpu_pct=%.2f", \
		    (b + p) / 1e7 / w, b / 1e7 / w, p / 1e7 / w
		printf " hwm_mb=%.2f rss_mb=%.2f bb_hwm_mb=%.2f", \
		    (bh + ph) / 1024, (br + pr) / 1024, bh / 1024
		printf " prom_hwm_mb=%.2f", ph / 1024
	}') up=${up:-n/a} $(bl_host_load "$h0" "$h1")"
	bl_stop "$ppid"
	bl_stop "$bpid"
}

# ---- the runs ---------------------------------------------------------------

if [ "$do_scale" = 1 ]; then
	for n in "${n_arr[@]}"; do
		for ((rep = 1; rep <= repeat; rep++)); do
			for kind in "${kind_arr[@]}"; do
				bl_say "scale: $kind N=$n run $rep/$repeat"
				# Rotate the order so drift hits all three.
				case $(( rep % 3 )) in
				1) run_sonde scale "$kind" "$n" "$interval_s" \
				    "$window" "$rep" "$kind"
				   run_blackbox "$kind" "$n" "$rep"
				   run_minloop "$kind" "$n" "$rep" ;;
				2) run_minloop "$kind" "$n" "$rep"
				   run_sonde scale "$kind" "$n" "$interval_s" \
				    "$window" "$rep" "$kind"
				   run_blackbox "$kind" "$n" "$rep" ;;
				0) run_blackbox "$kind" "$n" "$rep"
				   run_minloop "$kind" "$n" "$rep"
				   run_sonde scale "$kind" "$n" "$interval_s" \
				    "$window" "$rep" "$kind" ;;
				esac
			done
		done
	done
fi

if [ "$do_load" = 1 ]; then
	for kind in "${kind_arr[@]}"; do
		bl_say "load: $load_n $kind checks at 5s"
		run_sonde load "$kind" "$load_n" 5 "$load_window" 1 "$kind"
		run_pair "$kind" "$load_n" 1 "$kind"
	done
	if [ "$do_mixed" = 1 ] && [ ${#kind_arr[@]} -gt 1 ]; then
		bl_say "load: $load_n checks of each kind at 5s, mixed"
		run_sonde load mixed "$load_n" 5 "$load_window" 1 "${kind_arr[@]}"
		run_pair mixed "$load_n" 1 "${kind_arr[@]}"
	fi
fi
bl_say "done; raw figures in $raw"
