#!/bin/bash
# shellcheck disable=SC2016  # backquotes in printf formats are markdown
# SPDX-License-Identifier: ISC
#
# bench/tcp.sh: the TCP benchmark (not a test).
#
# N TCP checks (default N = 1,000 and 10,000) at a short interval against a
# local listener (bench/tcp_sink).  For each N it reports sonde's probes/s,
# CPU microseconds per probe (user+sys from /proc/PID/stat over the window
# after one warm-up interval), peak RSS (VmHWM), schedule lag p50/p99/max
# (from sonde's SIGTERM summary line) and the TIME_WAIT count; and, in the
# same invocation at the same rate, the CPU per connect of bench/tcp_minloop,
# a minimal epoll loop that only connects and closes: the physical limit of a
# TCP probe on this machine.  sonde is reported as a ratio to that limit.
#
# Usage: see usage() below, or bench/README.md.  `make bench` runs it from
# the build directory.  Every load loop here is bounded in count and time,
# and the cleanup trap stops only the processes this script started.

# make may run us with /bin/sh; the rest of this file is bash.
if [ -z "${BASH_VERSION:-}" ]; then exec bash "$0" "$@"; fi
set -euo pipefail

srcdir=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=bench/lib.sh
. "$srcdir/bench/lib.sh"
cmdline=$(printf '%q ' "$0" "$@")
cmdline=${cmdline% }

builddir=.
checks_list=1000,10000
interval=10s
duration=60
repeat=3
minloop_s=15
minloop_sleep=us
quiet_budget=30
close=rst
max_in_flight=512
timeout=2s
include_cmp=1
graceful_ref=1
chunk=100
out=
quick=0
minloop_only=0
duration_set=0
repeat_set=0
minloop_set=0

usage() {
	cat <<'EOF'
usage: bench/tcp.sh [options]
  --builddir DIR      where sonde and bench/tcp_{sink,minloop} are built (.)
  --checks LIST       comma-separated numbers of TCP checks (1000,10000)
  --interval DUR      check interval, e.g. 10s, 500ms, 1m (10s)
  --duration S        seconds sonde runs per measurement, >= 4 intervals:
                      one warm-up interval, then >= 3 measured (60)
  --repeat N          runs per N; medians with min-max are reported (3)
  --minloop-duration S  seconds per tcp_minloop run (15)
  --minloop-sleep us|ms  how tcp_minloop sleeps: epoll_pwait2 to the µs, as
                      src/loop.c does, or epoll_wait rounded up to 1 ms (us)
  --quiet-budget S    before each run wait (up to 10 s) until the rest of
                      the host uses < 25% of the CPUs; S seconds in all (30)
  --close rst|graceful  close policy of sonde's checks and of tcp_minloop
                      (rst: sonde's default, SO_LINGER {1,0})
  --max-in-flight N   agent.max_in_flight (512)
  --no-include        skip the single-file vs agent.include RSS comparison
  --no-graceful-ref   skip the tcp_minloop --close graceful reference runs
  --chunk N           checks per included file for the include layout (100)
  --quick             defaults to --repeat 1, --duration 4 intervals and 8 s
                      minloop runs; no include comparison, no graceful
                      reference (about 2 minutes)
  --minloop-only      skip sonde (to validate the harness and the machine)
  --out FILE          results file (bench/results/tcp-DATE.md in the source)
  --keep              keep the temporary directory (configs, logs)
  -h, --help
EOF
}

while [ $# -gt 0 ]; do
	case $1 in
	--builddir) builddir=${2:?}; shift ;;
	--checks) checks_list=${2:?}; shift ;;
	--interval) interval=${2:?}; shift ;;
	--duration) duration=${2:?}; duration_set=1; shift ;;
	--repeat) repeat=${2:?}; repeat_set=1; shift ;;
	--minloop-duration) minloop_s=${2:?}; minloop_set=1; shift ;;
	--minloop-sleep) minloop_sleep=${2:?}; shift ;;
	--quiet-budget) quiet_budget=${2:?}; shift ;;
	--close) close=${2:?}; shift ;;
	--max-in-flight) max_in_flight=${2:?}; shift ;;
	--no-include) include_cmp=0 ;;
	--no-graceful-ref) graceful_ref=0 ;;
	--chunk) chunk=${2:?}; shift ;;
	--quick) quick=1 ;;
	--minloop-only) minloop_only=1 ;;
	--out) out=${2:?}; shift ;;
	--keep) BL_KEEP=1 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	shift
done

# ---- argument checks ----------------------------------------------------

# Duration string ("250ms", "10s", "5m", "1h30m", or plain seconds) to ms.
dur_ms() {
	awk -v d="$1" 'BEGIN {
		if (d ~ /^[0-9]+(\.[0-9]+)?$/) { printf "%d\n", d * 1000; exit }
		t = 0; s = d
		while (match(s, /^[0-9]+(\.[0-9]+)?(ms|s|m|h)/)) {
			tok = substr(s, 1, RLENGTH); s = substr(s, RLENGTH + 1)
			match(tok, /[a-z]+$/); u = substr(tok, RSTART)
			v = substr(tok, 1, RSTART - 1) + 0
			t += v * (u == "ms" ? 1 : u == "s" ? 1000 : \
			    u == "m" ? 60000 : 3600000)
		}
		if (s != "" || t <= 0) exit 1
		printf "%d\n", t
	}'
}

interval_ms=$(dur_ms "$interval") || bl_die "bad --interval: $interval"
timeout_ms=$(dur_ms "$timeout") || bl_die "bad timeout: $timeout"
isnum() { [[ $1 =~ ^[0-9]+$ ]] && [ "$1" -gt 0 ]; }
isnum "$duration" || bl_die "--duration must be a positive number of seconds"
isnum "$repeat" || bl_die "--repeat must be a positive integer"
isnum "$minloop_s" || bl_die "--minloop-duration must be a positive integer"
isnum "$max_in_flight" || bl_die "--max-in-flight must be a positive integer"
isnum "$chunk" || bl_die "--chunk must be a positive integer"
[[ $quiet_budget =~ ^[0-9]+$ ]] || bl_die "--quiet-budget must be a number"
case $close in
rst|graceful) ;; *) bl_die "--close must be rst or graceful" ;;
esac
case $minloop_sleep in
us|ms) ;; *) bl_die "--minloop-sleep must be us or ms" ;;
esac
IFS=, read -r -a checks_arr <<<"$checks_list"
[ ${#checks_arr[@]} -gt 0 ] || bl_die "--checks is empty"
for n in "${checks_arr[@]}"; do
	isnum "$n" || bl_die "bad --checks entry: $n"
	[ "$n" -le 99999 ] || bl_die "--checks: at most 99999 checks"
done

warmup_ms=$interval_ms
if [ "$quick" = 1 ]; then
	[ "$repeat_set" = 1 ] || repeat=1
	[ "$minloop_set" = 1 ] || minloop_s=8
	include_cmp=0
	graceful_ref=0
	[ "$duration_set" = 1 ] ||
	    duration=$(( (4 * interval_ms + 999) / 1000 ))
fi
[ $(( duration * 1000 )) -ge $(( 4 * interval_ms )) ] ||
    bl_die "--duration $duration s is shorter than 4 intervals ($interval):" \
	"one warm-up interval and at least 3 measured ones"
[ "$minloop_s" -ge 3 ] || bl_die "--minloop-duration must be at least 3 s"

builddir=$(cd "$builddir" && pwd) || bl_die "no build directory"
sonde_bin=$builddir/sonde
sink_bin=$builddir/bench/tcp_sink
minloop_bin=$builddir/bench/tcp_minloop
for b in "$sink_bin" "$minloop_bin"; do
	[ -x "$b" ] || bl_die "$b not built (make bench/tcp_sink" \
	    "bench/tcp_minloop in $builddir, or make bench)"
done
if [ "$minloop_only" = 0 ]; then
	[ -x "$sonde_bin" ] || bl_die "$sonde_bin not built (see --builddir)"
fi
command -v ss >/dev/null || bl_die "ss (iproute2) is needed"

# ---- process bookkeeping (bench/lib.sh: bl_init, bl_spawn, bl_stop) ------

BL_QUIET_BUDGET=$quiet_budget
bl_init bench
tmp=$BL_TMP

# ---- measurements -------------------------------------------------------

now() { printf '%s\n' "$EPOCHREALTIME"; }

# left END MAX: seconds from now until END (epoch), capped to MAX, >= 0.
left() {
	awk -v e="$1" -v n="$EPOCHREALTIME" -v m="$2" 'BEGIN { w = e - n
		if (w > m) w = m; if (w < 0) w = 0; printf "%.3f", w }'
}

# TIME_WAIT sockets in this network namespace, cheaply (no socket walk).
tw_sockstat() {
	awk '$1 == "TCP:" { for (i = 2; i < NF; i++)
		if ($i == "tw") { print $(i + 1); exit } }' /proc/net/sockstat
}

# The count the issue asks for, ss's walk of the TIME_WAIT sockets, but
# only those to or from the sink: on a shared host others' tests leave
# thousands of their own.
tw_ss() {
	ss -Htan state time-wait \
	    "( dport = :$sink_port or sport = :$sink_port )" | wc -l
}

# The sink's accepted count, now: SIGUSR1 makes it rewrite its status file.
sink_seq() {
	local line
	read -r line <"$tmp/sink.status" 2>/dev/null || { echo 0; return; }
	line=${line#seq=}
	echo "${line%% *}"
}

sink_accepted() {
	local before i line
	before=$(sink_seq)
	kill -USR1 "$sink_pid"
	for ((i = 0; i < 200; i++)); do
		[ "$(sink_seq)" != "$before" ] && break
		sleep 0.01
	done
	read -r line <"$tmp/sink.status"
	line=${line#*accepted=}
	echo "${line%% *}"
}

start_sink() {
	bl_tcp_sink "$tmp/sink.out" "$sink_bin" --status "$tmp/sink.status"
	sink_pid=$BL_PID
	sink_port=$BL_PORT
}

# gen_config N LAYOUT DIR: writes DIR/sonde.conf (and DIR/checks.d/).
gen_config() {
	local n=$1 layout=$2 dir=$3 extra='' include=''
	rm -rf "$dir"
	mkdir -p "$dir/checks.d"
	[ "$close" = graceful ] && extra=' close = "graceful";'
	[ "$layout" = include ] && include=' include = ["checks.d/*.conf"];'
	{
		printf '# generated by bench/tcp.sh: %d TCP checks\n' "$n"
		printf 'agent: { name = "bench"; max_in_flight = %d;%s };\n' \
		    "$max_in_flight" "$include"
		printf 'defaults: { interval = "%s"; timeout = "%s"; };\n' \
		    "$interval" "$timeout"
	} >"$dir/sonde.conf"
	awk -v n="$n" -v port="$sink_port" -v extra="$extra" \
	    -v layout="$layout" -v chunk="$chunk" -v dir="$dir" '
	function entry(i) {
		return sprintf("  { name = \"t%05d\"; type = \"tcp\"; " \
		    "host = \"127.0.0.1\"; port = %d;%s }", i, port, extra)
	}
	BEGIN {
		if (layout == "single") {
			f = dir "/sonde.conf"
			print "checks = (" >> f
			for (i = 1; i <= n; i++)
				print entry(i) (i < n ? "," : "") >> f
			print ");" >> f
			exit
		}
		for (i = 1; i <= n; i += chunk) {
			f = sprintf("%s/checks.d/part-%05d.conf", dir, i)
			print "checks = (" > f
			last = i + chunk - 1
			if (last > n)
				last = n
			for (j = i; j <= last; j++)
				print entry(j) (j < last ? "," : "") > f
			print ");" > f
			close(f)
		}
	}'
}

# Validates a generated config once with sonde -t (cheap, and a far clearer
# failure than a daemon that exits at once).
check_config() {
	local conf=$1
	if ! "$sonde_bin" -t -c "$conf" >"$tmp/check.out" 2>&1; then
		head -20 "$tmp/check.out" >&2
		bl_die "sonde -t rejected the generated config $conf"
	fi
}

# Pulls a value out of sonde's logfmt summary line.  $2 is an ERE for the
# key; units in the key (_us, _ms, _s, _seconds) or in the value (us, ms,
# s) are converted to milliseconds when $3 is "ms".
kv() {
	printf '%s\n' "$1" | awk -v re="$2" -v unit="${3:-}" '{
		for (i = 1; i <= NF; i++) {
			p = index($i, "=")
			if (p == 0) continue
			k = substr($i, 1, p - 1); v = substr($i, p + 1)
			gsub(/"/, "", v)
			if (k !~ re) continue
			if (unit != "ms") { print v; exit }
			f = 1
			if (k ~ /_ns$/) f = 1e-6
			else if (k ~ /_us$/) f = 1e-3
			else if (k ~ /_(s|seconds)$/) f = 1e3
			if (v ~ /ns$/) { f = 1e-6; sub(/ns$/, "", v) }
			else if (v ~ /(us|µs)$/) { f = 1e-3; sub(/(us|µs)$/, "", v) }
			else if (v ~ /ms$/) { f = 1; sub(/ms$/, "", v) }
			else if (v ~ /s$/) { f = 1e3; sub(/s$/, "", v) }
			printf "%.3f\n", v * f
			exit
		}
	}'
}

# Results, one line per run, "key=value" fields (see emit sites).
runs=$tmp/runs.txt
: >"$runs"

# run_sonde N LAYOUT REP DURATION_S PHASE: one measured sonde run.  PHASE
# "layout" (the config layout comparison) also reloads once with SIGHUP at
# the end and reads VmHWM again: a reload holds two configs at once.
run_sonde() {
	local n=$1 layout=$2 rep=$3 dur=$4 phase=$5 anon hwm2=0 rss2=0 nrel
	local dir=$tmp/conf-$n-$layout log=$tmp/sonde-$n-$layout-$rep.log
	local pid t_start t0 t1 c0 c1 ns0 ns1 a0 a1 hwm rss tw tw_max=0
	local tw_end tw0 i end_at sample rc summary line w h0 h1 tw_host=0

	[ -f "$dir/sonde.conf" ] || {
		gen_config "$n" "$layout" "$dir"
		check_config "$dir/sonde.conf"
	}
	bl_wait_quiet
	tw0=$(tw_ss)
	t_start=$(now)
	bl_spawn "$log" "$sonde_bin" -c "$dir/sonde.conf"
	pid=$BL_PID

	# Warm-up: one interval (first runs are spread over it).  Bounded.
	end_at=$(awk -v s="$t_start" -v d="$warmup_ms" \
	    'BEGIN { printf "%.3f", s + d / 1000 }')
	for ((i = 0; i < warmup_ms / 100 + 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		w=$(left "$end_at" 0.1)
		[ "$w" = 0.000 ] && break
		sleep "$w"
	done
	if ! kill -0 "$pid" 2>/dev/null; then
		bl_reap "$pid" && rc=0 || rc=$?
		tail -20 "$log" >&2
		bl_die "sonde exited during warm-up (status $rc); log above"
	fi
	c0=$(bl_ticks "$pid"); ns0=$(bl_cpu_ns "$pid"); a0=$(sink_accepted)
	t0=$(now); h0=$(bl_host_jiffies)

	# Measured window: sample TIME_WAIT, the host's every second (cheap),
	# the sink's every 5 s (ss walks every socket).  Bounded.
	end_at=$(awk -v s="$t_start" -v d="$dur" 'BEGIN { printf "%.3f", s + d }')
	for ((i = 0; i < dur + 5; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sample=$(tw_sockstat)
		[ "$sample" -gt "$tw_host" ] && tw_host=$sample
		if [ $(( i % 5 )) = 4 ]; then
			sample=$(tw_ss)
			[ "$sample" -gt "$tw_max" ] && tw_max=$sample
		fi
		w=$(left "$end_at" 1)
		[ "$w" = 0.000 ] && break
		sleep "$w"
	done
	if ! kill -0 "$pid" 2>/dev/null; then
		bl_reap "$pid" && rc=0 || rc=$?
		tail -20 "$log" >&2
		bl_die "sonde exited during the run (status $rc); log above"
	fi
	c1=$(bl_ticks "$pid"); ns1=$(bl_cpu_ns "$pid"); a1=$(sink_accepted)
	t1=$(now); h1=$(bl_host_jiffies)
	hwm=$(bl_kb "$pid" VmHWM); rss=$(bl_kb "$pid" VmRSS)
	anon=$(bl_kb "$pid" RssAnon)
	tw_end=$(tw_ss)
	[ "$tw_end" -gt "$tw_max" ] && tw_max=$tw_end
	if [ "$phase" = layout ]; then
		nrel=$(grep -cE 'reloaded|reload failed' "$log" || true)
		kill -HUP "$pid"
		for ((i = 0; i < 100; i++)); do
			[ "$(grep -cE 'reloaded|reload failed' "$log" || true)" \
			    -gt "$nrel" ] && break
			sleep 0.1
		done
		[ "$i" -lt 100 ] || bl_say "no reload line in $log after 10 s"
		sleep 0.5
		hwm2=$(bl_kb "$pid" VmHWM); rss2=$(bl_kb "$pid" VmRSS)
	fi

	kill -TERM "$pid"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$pid" 2>/dev/null && {
		bl_say "sonde did not stop within 10 s of SIGTERM; killing it"
		kill -KILL "$pid"
	}
	bl_reap "$pid" && rc=0 || rc=$?

	summary=$(grep -E '(^|[[:space:]])probes=[0-9]' "$log" | tail -1 || true)
	[ -n "$summary" ] || bl_say "no summary line (probes=...) in $log"

	line=$(awk -v n="$n" -v layout="$layout" -v rep="$rep" \
	    -v t0="$t0" -v t1="$t1" -v c0="$c0" -v c1="$c1" -v tck="$BL_CLK_TCK" \
	    -v ns0="$ns0" -v ns1="$ns1" -v a0="$a0" -v a1="$a1" \
	    -v hwm="$hwm" -v rss="$rss" -v anon="$anon" -v hwm2="$hwm2" \
	    -v rss2="$rss2" -v phase="$phase" -v tw0="$tw0" -v twmax="$tw_max" \
	    -v twend="$tw_end" -v twhost="$tw_host" -v rc="$rc" 'BEGIN {
		w = t1 - t0; p = a1 - a0
		cpu = (c1 - c0) * 1e6 / tck
		printf "kind=sonde phase=%s n=%d layout=%s rep=%d", \
		    phase, n, layout, rep
		printf " window_s=%.2f", w
		printf " probes=%d probes_s=%.1f", p, p / w
		printf " cpu_us=%.0f cpu_us_probe=%.2f", cpu, p ? cpu / p : 0
		printf " cpu_us_probe_schedstat=%.2f", \
		    p ? (ns1 - ns0) / 1e3 / p : 0
		printf " hwm_mb=%.2f rss_mb=%.2f anon_mb=%.2f", hwm / 1024, \
		    rss / 1024, anon / 1024
		if (phase == "layout")
			printf " hwm_reload_mb=%.2f rss_reload_mb=%.2f", \
			    hwm2 / 1024, rss2 / 1024
		printf " tw_before=%d tw_max=%d tw_end=%d tw_host_max=%d", \
		    tw0, twmax, twend, twhost
		printf " exit=%d", rc
	}')
	line+=" lag_p50_ms=$(kv "$summary" 'lag.*p50' ms)"
	line+=" lag_p99_ms=$(kv "$summary" 'lag.*p99' ms)"
	line+=" lag_max_ms=$(kv "$summary" 'lag.*max' ms)"
	line+=" total_probes=$(kv "$summary" '^probes(_total)?$')"
	line+=" skipped=$(kv "$summary" '^skipped$')"
	line+=" waited=$(kv "$summary" '^waited$')"
	line+=" failed=$(kv "$summary" '^(failed|failures|errors)$')"
	line+=" $(bl_host_load "$h0" "$h1")"
	printf '%s\n' "$line" >>"$runs"
	bl_say "  $line"
}

# run_minloop N REP CLOSE DURATION_S: one tcp_minloop run.
run_minloop() {
	local n=$1 rep=$2 how=$3 dur=$4 pid i tw tw_max=0 tw0 rc res tw_host=0
	local warm line h0

	# Same warm-up share as sonde's runs, at least one second.
	warm=$(( dur / 4 )); [ "$warm" -ge 1 ] || warm=1
	bl_wait_quiet
	tw0=$(tw_ss); h0=$(bl_host_jiffies)
	# Same names, so the same hash-spread due times as sonde's scheduler,
	# on the same grid (agent.schedule_grid's default, 50 ms).
	bl_spawn "$tmp/minloop.out" "$minloop_bin" --port "$sink_port" \
	    --checks "$n" --interval "$interval_ms" --prefix t --width 5 \
	    --grid 50 --duration "$dur" --warmup "$warm" --close "$how" \
	    --sleep "$minloop_sleep" --max-in-flight "$max_in_flight" \
	    --timeout "$timeout_ms"
	pid=$BL_PID
	for ((i = 0; i < (dur + 5) * 2; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		tw=$(tw_sockstat)
		[ "$tw" -gt "$tw_host" ] && tw_host=$tw
		if [ $(( i % 10 )) = 9 ]; then
			tw=$(tw_ss)
			[ "$tw" -gt "$tw_max" ] && tw_max=$tw
		fi
		sleep 0.5
	done
	tw=$(tw_ss)
	[ "$tw" -gt "$tw_max" ] && tw_max=$tw
	if kill -0 "$pid" 2>/dev/null; then
		bl_say "tcp_minloop overran"
		bl_stop "$pid"
		rc=1
	else
		bl_reap "$pid" && rc=0 || rc=$?
	fi
	res=$(grep '^tcp_minloop ' "$tmp/minloop.out" || true)
	[ -n "$res" ] || bl_die "tcp_minloop failed: $(cat "$tmp/minloop.out")"
	[ "$rc" = 0 ] || bl_say "tcp_minloop reported errors: $res"
	line="kind=minloop n=$n layout=- rep=$rep close=$how"
	line+=" probes_s=$(kv "$res" '^probes_per_s$')"
	line+=" cpu_us_probe=$(kv "$res" '^cpu_us_per_probe$')"
	line+=" lag_p50_ms=$(kv "$res" '^lag_p50_ms$')"
	line+=" lag_p99_ms=$(kv "$res" '^lag_p99_ms$')"
	line+=" lag_max_ms=$(kv "$res" '^lag_max_ms$')"
	line+=" errors=$(kv "$res" '^errors$') tw_before=$tw0 tw_max=$tw_max"
	line+=" tw_host_max=$tw_host"
	line+=" $(bl_host_load "$h0" "$(bl_host_jiffies)")"
	printf '%s\n' "$line" >>"$runs"
	bl_say "  $line"
}

# Waits (bounded: 65 s, one TIME_WAIT period) until few of our TIME_WAIT
# sockets are left, so one run's leftovers do not inflate the next one's
# CPU.  Others' sockets on a shared host are only reported (tw_host_max).
drain_tw() {
	local i tw
	for ((i = 0; i < 65; i++)); do
		tw=$(tw_ss)
		[ "$tw" -le 100 ] && return 0
		[ "$i" = 0 ] && bl_say "waiting for $tw TIME_WAIT sockets to expire"
		sleep 1
	done
	bl_say "still $(tw_ss) TIME_WAIT sockets; going on"
}

# ---- the bench ------------------------------------------------------------

tw_start=$(tw_sockstat)
# What was measured: the tree's revision now and the binary itself.
sonde_rev=$(git -C "$srcdir" describe --always --dirty 2>/dev/null || echo unknown)
if [ "$minloop_only" = 0 ]; then
	sonde_rev+=", binary $(sha256sum "$sonde_bin" | cut -c1-12) built"
	sonde_rev+=" $(date -r "$sonde_bin" '+%Y-%m-%d %H:%M:%S')"
fi
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
start_sink
bl_say "tcp_sink on 127.0.0.1:$sink_port; interval $interval, duration" \
    "${duration}s (warm-up $interval), repeat $repeat, close $close"
drain_tw

for n in "${checks_arr[@]}"; do
	rate=$(awk -v n="$n" -v i="$interval_ms" \
	    'BEGIN { printf "%.3f", n * 1000 / i }')
	for ((rep = 1; rep <= repeat; rep++)); do
		bl_say "N=$n run $rep/$repeat ($rate probes/s)"
		# Alternate the order so drift on a noisy host hits both.
		if [ $(( rep % 2 )) = 1 ]; then
			[ "$minloop_only" = 1 ] ||
			    run_sonde "$n" single "$rep" "$duration" main
			run_minloop "$n" "$rep" "$close" "$minloop_s"
		else
			run_minloop "$n" "$rep" "$close" "$minloop_s"
			[ "$minloop_only" = 1 ] ||
			    run_sonde "$n" single "$rep" "$duration" main
		fi
		[ "$close" = rst ] || drain_tw
	done
done

# Layout: the same checks in one file and split into agent.include files,
# for peak RSS, each ended by one reload.  Short runs: one interval + 5 s.
if [ "$include_cmp" = 1 ] && [ "$minloop_only" = 0 ]; then
	inc_s=$(( (interval_ms + 999) / 1000 + 5 ))
	for n in "${checks_arr[@]}"; do
		for layout in single include; do
			bl_say "N=$n $layout layout, ${inc_s}s, then SIGHUP"
			run_sonde "$n" "$layout" 1 "$inc_s" layout
			[ "$close" = rst ] || drain_tw
		done
	done
fi

# TIME_WAIT's cost: the limit again with a FIN close, at the largest N
# only (where it matters), and last: it leaves rate x duration sockets.
if [ "$graceful_ref" = 1 ] && [ "$close" = rst ]; then
	n=${checks_arr[-1]}
	drain_tw
	bl_say "N=$n tcp_minloop --close graceful reference"
	run_minloop "$n" 1 graceful "$minloop_s"
fi
load_end=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- the report -----------------------------------------------------------

# med FILTER FIELD: "median (min-max)" of FIELD over the runs matching
# FILTER (an awk condition on the parsed fields f[...]); counts (TIME_WAIT,
# errors, host shares) without decimals when they are whole.
med() {
	local whole=
	[[ $2 =~ ^(tw_|errors|host_) ]] && whole=int
	bl_med "$runs" "$1" "$2" "$whole"
}

# Per-rep ratio sonde / minloop (runs of one rep are adjacent in time).
ratio_stat() {
	awk -v n="$1" -v cl="$close" '
	{
		delete f
		for (i = 1; i <= NF; i++) {
			p = index($i, "="); f[substr($i, 1, p - 1)] = substr($i, p + 1)
		}
		if (f["n"] != n) next
		if (f["phase"] == "main")
			s[f["rep"]] = f["cpu_us_probe"]
		if (f["kind"] == "minloop" && f["close"] == cl)
			m[f["rep"]] = f["cpu_us_probe"]
	}
	END {
		for (r in s) if ((r in m) && m[r] > 0) v[++k] = s[r] / m[r]
		if (k == 0) { print "n/a"; exit }
		for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++)
			if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
		mid = k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
		s2 = sprintf("%.2fx", mid)
		if (k > 1) s2 = s2 sprintf(" (%.2f–%.2f)", v[1], v[k])
		print s2
	}' "$runs"
}

report() {
	local n S M
	printf '# sonde TCP benchmark, %s\n\n' "$(date '+%Y-%m-%d %H:%M:%S %Z')"
	printf 'Command: `%s`  \n' "$cmdline"
	printf 'Machine: %s; load %s at start, %s at end  \n' \
	    "$(bl_machine)" "$load_start" "$load_end"
	printf 'sonde: %s; CFLAGS %s  \n' "$sonde_rev" \
	    "$(awk -F' = ' '$1 == "CFLAGS" { print $2 }' "$builddir/Makefile" 2>/dev/null)"
	printf 'Kernel: ip_local_port_range %s, tcp_tw_reuse %s, somaxconn %s; %s TIME_WAIT sockets on the host at start  \n' \
	    "$(tr '\t' '-' </proc/sys/net/ipv4/ip_local_port_range)" \
	    "$(cat /proc/sys/net/ipv4/tcp_tw_reuse)" \
	    "$(cat /proc/sys/net/core/somaxconn)" "$tw_start"
	printf 'Settings: interval %s, timeout %s, max_in_flight %s, close %s;' \
	    "$interval" "$timeout" "$max_in_flight" "$close"
	printf ' waited %s s for a quiet host;' "$BL_QUIET_SPENT"
	printf ' sonde %s s per run (first interval is warm-up), tcp_minloop %s s; %s run(s) per N\n\n' \
	    "$duration" "$minloop_s" "$repeat"
	printf 'Figures are medians, with (min–max) over the runs. CPU is user+sys of the\n'
	printf 'process over the measured window divided by the connections the sink accepted\n'
	printf 'in it; the ratio is taken per run against the tcp_minloop run next to it.\n\n'

	printf '| checks | probes/s | sonde CPU µs/probe | minloop CPU µs/probe | ratio | peak RSS MB | VmRSS MB | RssAnon MB | lag p50 ms | lag p99 ms | lag max ms | TIME_WAIT to the sink, sonde / minloop |\n'
	printf '|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
	for n in "${checks_arr[@]}"; do
		S="f[\"phase\"] == \"main\" && f[\"n\"] == $n"
		M="f[\"kind\"] == \"minloop\" && f[\"close\"] == \"$close\" && f[\"n\"] == $n"
		printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s |\n' \
		    "$n" "$(med "$S" probes_s)" "$(med "$S" cpu_us_probe)" \
		    "$(med "$M" cpu_us_probe)" "$(ratio_stat "$n")" \
		    "$(med "$S" hwm_mb)" "$(med "$S" rss_mb)" "$(med "$S" anon_mb)" \
		    "$(med "$S" lag_p50_ms)" "$(med "$S" lag_p99_ms)" \
		    "$(med "$S" lag_max_ms)" \
		    "$(med "$S" tw_max)" "$(med "$M" tw_max)"
	done
	printf '\nsonde lag is over the whole run (from its SIGTERM summary). tcp_minloop\n'
	printf 'uses the same due times and sleeps the same way (--minloop-sleep %s); its own\n' "$minloop_sleep"
	printf 'schedule lag is the floor of the machine. Host busy and steal are %% of all\n'
	printf 'CPUs over the window, and host TIME_WAIT counts every socket on the host:\n'
	printf 'noise indicators (50%% busy = one core):\n\n'
	printf '| checks | minloop probes/s | minloop lag p50 ms | p99 ms | max ms | sonde CPU µs/probe (schedstat) | host busy %% sonde / minloop | steal %% | host TIME_WAIT max |\n'
	printf '|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n'
	for n in "${checks_arr[@]}"; do
		S="f[\"phase\"] == \"main\" && f[\"n\"] == $n"
		M="f[\"kind\"] == \"minloop\" && f[\"close\"] == \"$close\" && f[\"n\"] == $n"
		printf '| %s | %s | %s | %s | %s | %s | %s / %s | %s | %s |\n' "$n" \
		    "$(med "$M" probes_s)" "$(med "$M" lag_p50_ms)" \
		    "$(med "$M" lag_p99_ms)" "$(med "$M" lag_max_ms)" \
		    "$(med "$S" cpu_us_probe_schedstat)" \
		    "$(med "$S" host_busy_pct)" "$(med "$M" host_busy_pct)" \
		    "$(med "$S || $M" steal_pct)" "$(med "$S || $M" tw_host_max)"
	done

	if grep -q 'phase=layout' "$runs"; then
		printf '\n### Config layout and peak RSS\n\n'
		printf 'The same checks in one file, or split into `agent.include` files of %s\n' "$chunk"
		printf 'checks; one short run each, ended by a reload (SIGHUP). RssAnon is the\n'
		printf "process's own memory; the rest of VmRSS is shared library pages.\n\n"
		printf '| checks | layout | VmHWM MB | VmRSS MB | RssAnon MB | VmHWM after reload | VmRSS after reload |\n'
		printf '|---:|---|---:|---:|---:|---:|---:|\n'
		for n in "${checks_arr[@]}"; do
			for layout in single include; do
				S="f[\"phase\"] == \"layout\" && f[\"layout\"] == \"$layout\" && f[\"n\"] == $n"
				printf '| %s | %s | %s | %s | %s | %s | %s |\n' \
				    "$n" "$layout" "$(med "$S" hwm_mb)" \
				    "$(med "$S" rss_mb)" "$(med "$S" anon_mb)" \
				    "$(med "$S" hwm_reload_mb)" \
				    "$(med "$S" rss_reload_mb)"
			done
		done
	fi

	if grep -q 'close=graceful' "$runs" && [ "$close" = rst ]; then
		n=${checks_arr[-1]}
		M="f[\"kind\"] == \"minloop\" && f[\"close\"] == \"rst\" && f[\"n\"] == $n"
		G="f[\"kind\"] == \"minloop\" && f[\"close\"] == \"graceful\" && f[\"n\"] == $n"
		printf '\n### What TIME_WAIT costs (tcp_minloop, FIN close)\n\n'
		printf 'One %s s run at %s checks: TIME_WAIT grows by the probe rate each second\n' "$minloop_s" "$n"
		printf '(for 60 s). With a FIN close the sink does part of the teardown in its own\n'
		printf 'context, so the client CPU looks lower than it is for the machine.\n\n'
		printf '| checks | probes/s | CPU µs/probe RST | CPU µs/probe FIN | TIME_WAIT to the sink, max | errors |\n'
		printf '|---:|---:|---:|---:|---:|---:|\n'
		printf '| %s | %s | %s | %s | %s | %s |\n' "$n" \
		    "$(med "$G" probes_s)" "$(med "$M" cpu_us_probe)" \
		    "$(med "$G" cpu_us_probe)" "$(med "$G" tw_max)" \
		    "$(med "$G" errors)"
	fi

	if [ "$minloop_only" = 0 ]; then
		printf '\n### Targets (issue), on the medians of the largest N\n\n'
		if [ "${checks_arr[-1]}" != 10000 ] || [ "$interval_ms" != 10000 ]; then
			printf 'The targets are set for 10,000 checks at 10s; this run used %s at %s.\n\n' \
			    "${checks_arr[-1]}" "$interval"
		fi
		targets
	fi
	printf '\n<details><summary>All runs</summary>\n\n```\n'
	cat "$runs"
	printf '```\n</details>\n'
}

# The issue's targets, judged on the medians of the largest N.
targets() {
	local n=${checks_arr[-1]} S p99 ratio hwm pps want
	S="f[\"phase\"] == \"main\" && f[\"n\"] == $n"
	p99=$(bl_first "$(med "$S" lag_p99_ms)")
	hwm=$(bl_first "$(med "$S" hwm_mb)")
	pps=$(bl_first "$(med "$S" probes_s)")
	ratio=$(bl_first "$(ratio_stat "$n")"); ratio=${ratio%x}
	want=$(awk -v n="$n" -v i="$interval_ms" 'BEGIN { printf "%.0f", n * 1000 / i }')
	verdict() { awk -v v="$1" -v op="$2" -v lim="$3" 'BEGIN {
		if (v == "n/a" || v == "" || lim == "n/a") { print "n/a"; exit }
		ok = op == "<" ? v + 0 < lim + 0 : v + 0 <= lim + 0
		print ok ? "met" : "**missed**" }'; }
	printf -- '- %s checks at %s: %s probes/s of %s due (>= 98%%): %s\n' \
	    "$n" "$interval" "$pps" "$want" \
	    "$(verdict "$(awk -v w="$want" 'BEGIN { print w * 0.98 }')" \
		'<=' "$pps")"
	printf -- '- schedule lag p99 %s ms < 5 ms: %s\n' "$p99" "$(verdict "$p99" '<' 5)"
	printf -- '- CPU per probe %sx the minimal loop <= 1.25x: %s\n' "$ratio" \
	    "$(verdict "$ratio" '<=' 1.25)"
	printf -- '- peak RSS %s MB <= 16 MB: %s\n' "$hwm" "$(verdict "$hwm" '<=' 16)"
}

if [ -z "$out" ]; then
	mkdir -p "$srcdir/bench/results"
	out=$srcdir/bench/results/tcp-$(date +%Y%m%d-%H%M%S).md
fi
report >"$tmp/report.md"
cp "$tmp/report.md" "$out"
cat "$tmp/report.md"
bl_say "results written to $out"
bl_stop "$sink_pid"
bl_say "$(tail -1 "$tmp/sink.out")"
