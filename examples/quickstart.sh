#!/bin/sh
# The quick start demo: checks this machine with examples/quickstart.conf,
# without internet.  It validates the config, runs every check once as a
# table, then runs the agent while a throwaway listener on 127.0.0.1:18080
# (netcat) comes and goes, so the log shows the "listener" check go ok,
# then failing, then ok again.  SONDE_QUICKSTART_SECONDS sets how long the
# agent runs (default 30); it stops with SIGTERM, as a service manager would.
set -eu
cd "$(dirname "$0")/.."
conf=examples/quickstart.conf
secs=${SONDE_QUICKSTART_SECONDS:-30}
step=$((secs / 3))
[ "$step" -ge 2 ] || step=2
nc_pid=
sonde_pid=

cleanup() {
	[ -z "$nc_pid" ] || kill "$nc_pid" 2>/dev/null || true
	[ -z "$sonde_pid" ] || kill "$sonde_pid" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

listen() {
	nc -dlk 127.0.0.1 18080 </dev/null >/dev/null 2>&1 &
	nc_pid=$!
	sleep 0.3
	if ! kill -0 "$nc_pid" 2>/dev/null; then
		nc_pid=
		echo "quickstart: cannot listen on 127.0.0.1:18080;" \
		    "is something else using that port?" >&2
		exit 1
	fi
}

echo "== sonde -t: validate the config"
./sonde -t -c "$conf"

listen
echo
echo "== sonde --once: every check once (exit status 1: some fail, as intended)"
./sonde --once -c "$conf" || true

echo
echo "== sonde: the agent, for ${secs}s; one log line per state change"
./sonde -c "$conf" &
sonde_pid=$!
sleep "$step"
echo "-- quickstart: stopping the listener on 127.0.0.1:18080"
kill "$nc_pid"
wait "$nc_pid" 2>/dev/null || true
nc_pid=
sleep "$step"
echo "-- quickstart: starting the listener again"
listen
sleep "$step"
kill -TERM "$sonde_pid"
status=0
wait "$sonde_pid" || status=$?
sonde_pid=
echo "== sonde exited with status $status"
exit "$status"
