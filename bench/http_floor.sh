#!/bin/bash
# SPDX-License-Identifier: ISC
#
# bench/http_floor.sh: what one HTTP probe costs in sonde, against its two
# floors, side by side (not a test).
#
# For each N (default 1,000 and 10,000 http checks at a 10 s interval:
# 100 and 1,000 probes/s) and --repeat runs, in an order that rotates with
# the run: sonde on N checks of http://127.0.0.1:PORT/ok (one nginx
# worker, fresh connection per probe); bench/curl_minloop at the same rate
# on sonde's 50 ms grid (the libcurl floor: libcurl's multi_socket API and
# nothing else); bench/http_minloop with sonde's due times (the raw floor:
# raw sockets).  With --before DIR, the sonde and curl_minloop of another
# build directory (the base revision) run in the same rotation, so a
# change is measured against its base in the same minutes.
#
# CPU per probe: sonde's on-CPU time over the window from schedstat (as
# bench/kinds_scale.sh), divided by its probe rate (event=stopped probes /
# wall time) times the window; the loops count their own (getrusage after
# their warm-up).  Ratios are taken per run, between neighbours in time.
#
# --syscalls adds `strace -c -f` of each prober for 5 s at the smallest N
# (syscalls per probe: all of them / connect calls, one per probe; at
# 1,000 probes/s strace's own cost saturates the prober and the counts
# drift with the backlog);
# --instructions adds callgrind of each at 50 checks every 1 s, counters
# zeroed after 6 s and dumped 10 s later (instructions per probe: the
# total / connect calls).  Every loop is bounded in count and time;
# cleanup stops only the PIDs started here.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

srcdir=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$srcdir/bench/lib.sh"

builddir=build
before=
checks=1000,10000
interval_s=10
window=8
repeat=3
do_sys=0
do_ins=0

usage() {
	cat <<'EOF'
usage: bench/http_floor.sh [options]
  --builddir DIR   sonde and bench/{curl,http}_minloop (build)
  --before DIR     also run DIR's sonde and bench/curl_minloop
  --checks LIST    numbers of http checks (1000,10000)
  --window S       measured seconds per run (8)
  --repeat R       runs per N (3)
  --syscalls       strace -c: syscalls per probe, at the smallest N
  --instructions   callgrind: instructions per probe, 50 checks at 1 s
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--builddir) builddir=${2:?}; shift ;;
	--before) before=${2:?}; shift ;;
	--checks) checks=${2:?}; shift ;;
	--window) window=${2:?}; shift ;;
	--repeat) repeat=${2:?}; shift ;;
	--syscalls) do_sys=1 ;;
	--instructions) do_ins=1 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done
builddir=$(bl_builddir "$builddir" sonde bench/curl_minloop \
    bench/http_minloop) || exit 1
if [ -n "$before" ]; then
	before=$(cd "$before" && pwd) || bl_die "no directory $before"
	for b in sonde bench/curl_minloop; do
		[ -x "$before/$b" ] || bl_die "$before/$b is not built"
	done
fi
bl_need nginx nginx
bl_need openssl openssl
bl_need python3 python3
[ "$do_sys" = 0 ] || bl_need strace strace
[ "$do_ins" = 0 ] || bl_need valgrind valgrind
IFS=, read -r -a n_arr <<<"$checks"

bl_init bench-httpfloor
T=$BL_TMP
raw=$T/raw
: >"$raw"
mkdir -p "$T/pki"
bl_pki "$T/pki"		# bl_nginx serves TLS too
NG=$(bl_free_port)
bl_nginx "$T/pki" "$NG" "$(bl_free_port)"
URL="http://127.0.0.1:$NG/ok"

# gen_config FILE N INTERVAL_S: N http checks named t00001...
gen_config() {
	mkdir -p "${1%/*}/state"
	{
		printf 'agent: { name = "bench"; state_dir = "%s/state"; max_in_flight = 1024; };\n' "${1%/*}"
		printf 'defaults: { interval = "%ds"; timeout = "%s"; };\n' "$3" \
		    "$([ "$3" -ge 2 ] && echo 2s || echo 900ms)"
		printf 'checks = (\n'
		awk -v n="$2" -v u="$URL" 'BEGIN { for (i = 1; i <= n; i++)
			printf "  { name = \"t%05d\"; type = \"http\"; url = \"%s\"; }%s\n",
			    i, u, i == n ? "" : "," }'
		printf ');\n'
	} >"$1"
	"$builddir/sonde" -t -c "$1" >/dev/null || bl_die "sonde -t rejected $1"
}

emit() {
	printf '%s\n' "$1" >>"$raw"
	bl_say "  $1"
}

# run_sonde WHO BIN N REP: one interval of warm-up, then the window.
run_sonde() {
	local who=$1 bin=$2 n=$3 rep=$4 conf=$T/n$3/sonde.conf log pid
	local t_start t0 t1 ns0 ns1 h0 h1 sum
	log=$T/n$n/$who-$rep.log
	[ -f "$conf" ] || gen_config "$conf" "$n" "$interval_s"
	bl_wait_quiet
	t_start=$EPOCHREALTIME
	bl_spawn "$log" "$bin" -c "$conf"
	pid=$BL_PID
	sleep "$interval_s"
	kill -0 "$pid" 2>/dev/null || bl_die "$who exited ($log)"
	ns0=$(bl_cpu_ns "$pid"); h0=$(bl_host_jiffies); t0=$EPOCHREALTIME
	sleep "$window"
	ns1=$(bl_cpu_ns "$pid"); h1=$(bl_host_jiffies); t1=$EPOCHREALTIME
	bl_stop "$pid"
	sum=$(grep 'event=stopped' "$log" | tail -1)
	[ -n "$sum" ] || bl_die "$who wrote no event=stopped line ($log)"
	emit "$(awk -v who="$who" -v n="$n" -v r="$rep" -v tot="$(bl_kv "$sum" probes)" \
	    -v el="$(awk -v a="$t_start" -v b="$EPOCHREALTIME" 'BEGIN { print b - a }')" \
	    -v w="$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')" \
	    -v dns="$((ns1 - ns0))" 'BEGIN { p = tot / el * w
		printf "who=%s n=%d rep=%d probes_s=%.1f cpu_us_probe=%.2f",
		    who, n, r, tot / el, dns / 1e3 / p }') failed=$(bl_kv "$sum" failed) $(bl_host_load "$h0" "$h1")"
}

# run_curl WHO BIN N REP: curl_minloop warms up for one interval itself.
run_curl() {
	local who=$1 bin=$2 n=$3 rep=$4 h0 out rc=0
	bl_wait_quiet
	h0=$(bl_host_jiffies)
	out=$("$bin" "$URL" "$n" $((interval_s * 1000)) \
	    $((interval_s + window)) 50) || rc=$?
	emit "who=$who n=$n rep=$rep exit=$rc cpu_us_probe=$(bl_kv "$out" cpu_us_per_probe) failed=$(bl_kv "$out" failed) $(bl_host_load "$h0" "$(bl_host_jiffies)")"
}

run_raw() {
	local n=$1 rep=$2 h0 out rc=0
	bl_wait_quiet
	h0=$(bl_host_jiffies)
	out=$("$builddir/bench/http_minloop" --port "$NG" --path /ok \
	    --checks "$n" --interval $((interval_s * 1000)) --grid 50 \
	    --duration $((window + 2)) --warmup 2) || rc=$?
	emit "who=raw n=$n rep=$rep exit=$rc probes_s=$(bl_kv "$out" probes_per_s) cpu_us_probe=$(bl_kv "$out" cpu_us_per_probe) errors=$(bl_kv "$out" errors) $(bl_host_load "$h0" "$(bl_host_jiffies)")"
}

run_one() {
	case $1 in
	sonde) run_sonde sonde "$builddir/sonde" "$2" "$3" ;;
	curl) run_curl curl "$builddir/bench/curl_minloop" "$2" "$3" ;;
	raw) run_raw "$2" "$3" ;;
	sonde_before) run_sonde sonde_before "$before/sonde" "$2" "$3" ;;
	curl_before) run_curl curl_before "$before/bench/curl_minloop" "$2" "$3" ;;
	esac
}

who_list=(sonde curl raw)
[ -z "$before" ] || who_list+=(sonde_before curl_before)
for n in "${n_arr[@]}"; do
	mkdir -p "$T/n$n"
	for ((rep = 1; rep <= repeat; rep++)); do
		bl_say "N=$n run $rep/$repeat"
		for ((k = 0; k < ${#who_list[@]}; k++)); do
			run_one "${who_list[(k + rep - 1) % ${#who_list[@]}]}" \
			    "$n" "$rep"
		done
	done
done

# ---- syscalls and instructions per probe ---------------------------------

# per_connect FILE: "total/connects" of an strace -c summary.
# (Its rows: % time, seconds, usecs/call, calls, [errors,] name.)
per_connect() {
	awk '$NF == "connect" { c = $4 } $NF == "total" { t = $4 }
	    END { if (c > 0) printf "%.1f", t / c; else print "n/a" }' "$1"
}

# strace_one WHO LOG CMD...: strace -c over 5 s, after one interval and
# a second of warm-up (sonde logs each check's first state once).
strace_one() {
	local who=$1 log=$2 pid spid
	shift 2
	bl_spawn "$log" "$@"
	pid=$BL_PID
	sleep $((interval_s + 1))
	bl_spawn "$T/$who.strace.out" strace -c -f -p "$pid" -o "$T/$who.strace"
	spid=$BL_PID
	sleep 5
	kill -INT "$spid" 2>/dev/null || true
	bl_reap "$spid" || true
	bl_stop "$pid"
	emit "phase=syscalls who=$who syscalls_probe=$(per_connect "$T/$who.strace") $(awk '$4 ~ /^[0-9]+$/ && $NF != "total" { printf "%s=%s ", $NF, $4 }' "$T/$who.strace")"
}

# callgrind_one WHO CMD...: instructions per probe (total / connects).
callgrind_one() {
	local who=$1 pid out
	out=$T/$who.cg
	shift
	bl_spawn "$T/$who.cg.log" valgrind --tool=callgrind \
	    --callgrind-out-file="$out" "$@"
	pid=$BL_PID
	sleep 6; callgrind_control -z "$pid" >/dev/null
	sleep 10; callgrind_control -d "$pid" >/dev/null
	sleep 1
	bl_stop "$pid"
	emit "phase=instructions who=$who $(python3 - "$out.1" <<'EOF'
import re, sys
names, cur, calls, total = {}, None, 0, 0
for line in open(sys.argv[1]):
    m = re.match(r'^c?fn=\((\d+)\)(?: (.*))?$', line)
    if m:
        if m.group(2):
            names[m.group(1)] = m.group(2).strip()
        cur = names.get(m.group(1)) if line.startswith('cfn') else None
        continue
    m = re.match(r'^calls=(\d+)', line)
    if m and cur == 'connect':
        calls += int(m.group(1))
    m = re.match(r'^(?:summary|totals): (\d+)', line)
    if m:
        total = int(m.group(1))
print('ir_probe=%.0f probes=%d' % (total / calls if calls else 0, calls))
EOF
)"
}

big=${n_arr[0]}
if [ "$do_sys" = 1 ]; then
	bl_say "syscalls per probe, N=$big"
	[ -f "$T/n$big/sonde.conf" ] || gen_config "$T/n$big/sonde.conf" "$big" "$interval_s"
	strace_one sonde "$T/sys-sonde.log" "$builddir/sonde" -c "$T/n$big/sonde.conf"
	strace_one curl "$T/sys-curl.log" "$builddir/bench/curl_minloop" "$URL" \
	    "$big" $((interval_s * 1000)) $((interval_s + 20)) 50
	strace_one raw "$T/sys-raw.log" "$builddir/bench/http_minloop" --port "$NG" \
	    --path /ok --checks "$big" --interval $((interval_s * 1000)) \
	    --grid 50 --duration $((interval_s + 20)) --warmup 2
	if [ -n "$before" ]; then
		strace_one sonde_before "$T/sys-sb.log" "$before/sonde" -c "$T/n$big/sonde.conf"
	fi
fi
if [ "$do_ins" = 1 ]; then
	bl_say "instructions per probe, 50 checks at 1 s (callgrind)"
	mkdir -p "$T/cg"
	gen_config "$T/cg/sonde.conf" 50 1
	callgrind_one sonde "$builddir/sonde" -c "$T/cg/sonde.conf"
	callgrind_one curl "$builddir/bench/curl_minloop" "$URL" 50 1000 30 50
	callgrind_one raw "$builddir/bench/http_minloop" --port "$NG" --path /ok \
	    --checks 50 --interval 1000 --grid 50 --duration 30 --warmup 2
	if [ -n "$before" ]; then
		callgrind_one sonde_before "$before/sonde" -c "$T/cg/sonde.conf"
	fi
fi

# ---- report -----------------------------------------------------------------

ratio_med() {	# ratio_med N A B: median (min–max) of A/B over the runs
	awk -v n="$1" -v a="$2" -v b="$3" '
	{ delete f; for (i = 1; i <= NF; i++) { p = index($i, "=")
		f[substr($i, 1, p - 1)] = substr($i, p + 1) }
	  if (f["n"] != n) next
	  if (f["who"] == a) x[f["rep"]] = f["cpu_us_probe"]
	  if (f["who"] == b) y[f["rep"]] = f["cpu_us_probe"] }
	END { for (r in x) if (r in y && y[r] > 0) v[++k] = x[r] / y[r]
	  if (k == 0) { print "n/a"; exit }
	  for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
		if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
	  m = k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
	  printf "%.2f (%.2f–%.2f)\n", m, v[1], v[k] }' "$raw"
}

{
	echo "## http_floor.sh: $(date -u +%Y-%m-%dT%H:%MZ), $(git -C "$srcdir" rev-parse --short HEAD 2>/dev/null || echo '?'), nproc $(nproc), load $(cut -d' ' -f1-3 /proc/loadavg)"
	echo
	echo "\`bench/http_floor.sh --checks $checks --window $window --repeat $repeat${before:+ --before $before}\`"
	echo
	echo "| N | who | CPU µs/probe | host busy % |"
	echo "|---|---|---|---|"
	for n in "${n_arr[@]}"; do
		for w in "${who_list[@]}"; do
			echo "| $n | $w | $(bl_med "$raw" "f[\"n\"] == $n && f[\"who\"] == \"$w\" && f[\"phase\"] == \"\"" cpu_us_probe) | $(bl_med "$raw" "f[\"n\"] == $n && f[\"who\"] == \"$w\" && f[\"phase\"] == \"\"" host_busy_pct) |"
		done
	done
	echo
	echo "| N | sonde / raw | sonde / curl | curl / raw |${before:+ sonde / sonde_before |}"
	echo "|---|---|---|---|${before:+---|}"
	for n in "${n_arr[@]}"; do
		echo "| $n | $(ratio_med "$n" sonde raw) | $(ratio_med "$n" sonde curl) | $(ratio_med "$n" curl raw) |${before:+ $(ratio_med "$n" sonde sonde_before) |}"
	done
	grep -E '^phase=(syscalls|instructions)' "$raw" | sed 's/^/    /' || true
	echo
	echo "Raw lines:"
	echo
	grep -v '^phase=' "$raw" | sed 's/^/    /'
}
