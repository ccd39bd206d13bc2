#!/bin/bash
# SPDX-License-Identifier: ISC
#
# startup.sh: how long sonde takes to check, start, reload and stop with
# 10,000 checks, and what a reload costs in memory; Prometheus's start and
# /-/reload with 10,000 blackbox targets beside it (what a blackbox user
# runs to get the same probes scheduled).
#
# The configs: 10,000 TCP checks against bench/tcp_sink at a 10 s interval,
# and a mixed one (a quarter each of http and dns against delay_server,
# tcp against tcp_sink, tls against a closed port: the handshake is not the
# point).  A python harness runs each daemon with a NOTIFY_SOCKET of its
# own and timestamps (CLOCK_MONOTONIC) the sd_notify datagrams and the
# stderr lines as they arrive:
#   sonde -t           wall time of the config check
#   start -> READY=1   fork/exec to the READY=1 datagram
#   start -> result    to the first `check=... state=` line (first result)
#   reload             SIGHUP -> READY=1 (after RELOADING=1), same config
#                      and a changed one (half the checks renamed, the
#                      other half with another interval); VmHWM over each
#                      reload (reset through /proc/PID/clear_refs)
#   stop               SIGTERM -> exit
# Each figure is the median of the repeats with min-max.  Progress goes to
# stderr, one markdown section to stdout.
#
#   bench/startup.sh [--builddir DIR] [--quick] [--checks N] [--repeat R]
#       [--keep]
#
# --quick: 3 repeats, the TCP config only, no Prometheus.  Exit 0 when it
# could measure (even if the target fails), 1 when it could not.
set -eu

BUILDDIR=./build
CHECKS=10000
REPEAT=5
QUICK=0
KEEP=0
while [ $# -gt 0 ]; do
	case "$1" in
	--builddir) BUILDDIR=$2; shift 2 ;;
	--quick) QUICK=1; REPEAT=3; shift ;;
	--checks) CHECKS=$2; shift 2 ;;
	--repeat) REPEAT=$2; shift 2 ;;
	--keep) KEEP=1; shift ;;
	*) echo "usage: $0 [--builddir DIR] [--quick] [--checks N] [--repeat R] [--keep]" >&2
	   exit 1 ;;
	esac
done

die() { echo "startup.sh: $*" >&2; exit 1; }
SONDE=$BUILDDIR/sonde
[ -x "$SONDE" ] || die "no $SONDE: build sonde first (make -C $BUILDDIR)"
for p in tcp_sink delay_server; do
	if [ ! -x "$BUILDDIR/bench/$p" ]; then
		echo "building bench/$p" >&2
		make -C "$BUILDDIR" "bench/$p" >&2 || die "cannot build bench/$p"
	fi
done
command -v python3 >/dev/null || die "python3 not found: apt-get install python3"
PROM=""
if [ "$QUICK" = 0 ]; then
	PROM=$(command -v prometheus || true)
	[ -n "$PROM" ] || echo "startup.sh: prometheus not found (apt-get install prometheus): its column is left out" >&2
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/sonde-startup.XXXXXX")
PIDS=""
cleanup() {
	for p in $PIDS; do kill "$p" 2>/dev/null || true; done
	for p in $PIDS; do wait "$p" 2>/dev/null || true; done
	if [ "$KEEP" = 1 ]; then echo "kept $TMP" >&2; else rm -rf "$TMP"; fi
}
trap cleanup EXIT
trap 'exit 1' INT TERM

"$BUILDDIR/bench/tcp_sink" > "$TMP/sink.port" 2> "$TMP/sink.err" &
PIDS="$PIDS $!"
"$BUILDDIR/bench/delay_server" --max-seconds 1800 > "$TMP/delay.ports" \
    2> "$TMP/delay.err" &
PIDS="$PIDS $!"
i=0
until [ -s "$TMP/sink.port" ] && grep -q '^http=' "$TMP/delay.ports"; do
	i=$((i + 1)); [ $i -le 50 ] || die "tcp_sink or delay_server did not start"
	sleep 0.1
done

export SONDE PROM CHECKS REPEAT QUICK TMP
export SINK_PORT=$(head -1 "$TMP/sink.port")
export HTTP_PORT=$(sed 's/^http=\([0-9]*\) .*/\1/' "$TMP/delay.ports")
export DNS_PORT=$(sed 's/.* dns=\([0-9]*\)$/\1/' "$TMP/delay.ports")
export SONDE_REV=$(git -C "$(dirname "$0")" rev-parse --short HEAD 2>/dev/null || echo "?")
python3 - <<'PY'
import os, signal, socket, statistics, subprocess, sys, threading, time
import urllib.request

env = os.environ
SONDE, TMP = env["SONDE"], env["TMP"]
N, R = int(env["CHECKS"]), int(env["REPEAT"])
QUICK = env["QUICK"] == "1"
WAIT = 60.0     # every wait below is bounded by this many seconds


def log(msg):
    print("startup: " + msg, file=sys.stderr, flush=True)


def closed_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def check_line(i, kind, name, interval):
    if kind == "tcp":
        body = 'host = "127.0.0.1"; port = %s;' % env["SINK_PORT"]
    elif kind == "http":
        body = 'url = "http://127.0.0.1:%s/delay/0/%s";' % (
            env["HTTP_PORT"], name)
    elif kind == "dns":
        body = 'server = "127.0.0.1:%s"; query = "d0.%s.bench";' % (
            env["DNS_PORT"], name)
    else:
        body = 'host = "127.0.0.1"; port = %d;' % TLS_PORT
    return '  { name = "%s"; type = "%s"; interval = "%s"; %s }' % (
        name, kind, interval, body)


def write_config(path, kinds, changed):
    """N checks cycling through kinds; changed: odd ones renamed, even
    ones at another interval (what a reload has to add, drop, move)."""
    lines = []
    for i in range(N):
        kind = kinds[i % len(kinds)]
        name = "c%05d" % i
        interval = "10s"
        if changed and i % 2 == 1:
            name = "r%05d" % i
        elif changed:
            interval = "12s"
        lines.append(check_line(i, kind, name, interval))
    with open(path + ".tmp", "w") as f:
        f.write('agent: { name = "startup"; state_dir = "%s/state"; };\n'
                'defaults = { timeout = "5s"; };\n'
                'checks = (\n%s\n);\n' % (TMP, ",\n".join(lines)))
    os.rename(path + ".tmp", path)


def status_kb(pid, key):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def reset_hwm(pid):
    with open("/proc/%d/clear_refs" % pid, "w") as f:
        f.write("5")


class Daemon:
    """A process whose sd_notify datagrams and stderr lines are stamped."""

    def __init__(self, argv, notify):
        self.events = []            # (monotonic, text)
        self.cv = threading.Condition()
        self.sock = None
        e = dict(env)
        if notify:
            path = os.path.join(TMP, "notify.sock")
            if os.path.exists(path):
                os.unlink(path)
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
            self.sock.bind(path)
            e["NOTIFY_SOCKET"] = path
            threading.Thread(target=self._notify, daemon=True).start()
        self.t0 = time.monotonic()
        self.p = subprocess.Popen(argv, env=e, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        threading.Thread(target=self._stderr, daemon=True).start()

    def _add(self, text):
        with self.cv:
            self.events.append((time.monotonic(), text))
            self.cv.notify_all()

    def _notify(self):
        while True:
            try:
                msg = self.sock.recv(4096).decode(errors="replace")
            except OSError:
                return
            for line in msg.splitlines():
                self._add("notify " + line)

    def _stderr(self):
        for raw in self.p.stderr:
            self._add(raw.decode(errors="replace").rstrip("\n"))
        self._add("eof")

    def wait_for(self, pred, after):
        """The time of the first event after index `after` matching."""
        deadline = time.monotonic() + WAIT
        with self.cv:
            while True:
                for t, text in self.events[after:]:
                    if pred(text):
                        return t
                if time.monotonic() > deadline:
                    raise SystemExit("timed out waiting (last: %s)" % (
                        self.events[-3:],))
                self.cv.wait(0.5)

    def mark(self):
        with self.cv:
            return len(self.events)

    def close(self):
        if self.p.poll() is None:
            self.p.kill()
            self.p.wait()
        if self.sock:
            self.sock.close()


def ready(text):
    return text == "notify READY=1"


def sonde_reload(d, conf, changed_conf):
    if changed_conf:
        os.rename(changed_conf, conf)
    time.sleep(0.5)
    reset_hwm(d.p.pid)
    m = d.mark()
    t = time.monotonic()
    d.p.send_signal(signal.SIGHUP)
    d.wait_for(lambda x: x == "notify RELOADING=1", m)
    done = d.wait_for(ready, m)
    if any("reload failed" in x for _, x in d.events[m:]):
        raise SystemExit("reload failed: %s" % d.events[m:])
    return done - t, status_kb(d.p.pid, "VmHWM")


def sonde_once(conf, changed):
    f = {}
    d = Daemon([SONDE, "-c", conf], True)
    try:
        f["ready"] = d.wait_for(ready, 0) - d.t0
        f["first"] = d.wait_for(lambda x: " check=" in x and " state=" in x,
                                0) - d.t0
        time.sleep(2.0)
        f["hwm_start"] = status_kb(d.p.pid, "VmHWM")
        f["rss"] = status_kb(d.p.pid, "VmRSS")
        f["reload_same"], f["hwm_same"] = sonde_reload(d, conf, None)
        write_config(changed, KINDS, True)
        f["reload_changed"], f["hwm_changed"] = sonde_reload(d, conf,
                                                             changed)
        time.sleep(0.5)
        t = time.monotonic()
        d.p.send_signal(signal.SIGTERM)
        d.p.wait(timeout=WAIT)
        f["stop"] = time.monotonic() - t
        d.wait_for(lambda x: x == "eof", 0)
        for _, text in d.events:
            if "event=stopped" in text:
                for kv in text.split():
                    if kv.startswith("lag_max_ms="):
                        f["lag_max"] = float(kv.split("=")[1]) / 1e3
        if d.p.returncode != 0:
            raise SystemExit("sonde exited with %d" % d.p.returncode)
    finally:
        d.close()
    return f


def sonde_series(label, kinds):
    global KINDS
    KINDS = kinds
    conf = os.path.join(TMP, "sonde.conf")
    changed = os.path.join(TMP, "sonde-changed.conf")
    runs = []
    for r in range(R):
        write_config(conf, kinds, False)
        t = time.monotonic()
        p = subprocess.run([SONDE, "-t", "-c", conf], capture_output=True)
        check = time.monotonic() - t
        if p.returncode != 0:
            raise SystemExit("sonde -t failed: %s" % p.stderr.decode())
        log("%s: run %d of %d" % (label, r + 1, R))
        f = sonde_once(conf, changed)
        f["check"] = check
        runs.append(f)
    return runs


def prom_config(path, port, changed):
    targets = "\n".join('      - "%s%05d.bench.invalid:%s"' % (
        "r" if changed and i % 2 else "c", i, env["SINK_PORT"])
        for i in range(N))
    with open(path + ".tmp", "w") as f:
        f.write("global:\n  scrape_interval: 10s\n  scrape_timeout: 5s\n"
                "scrape_configs:\n  - job_name: blackbox\n"
                "    metrics_path: /probe\n"
                "    params: {module: [tcp_connect]}\n"
                "    static_configs:\n    - targets:\n%s\n"
                "    relabel_configs:\n"
                "    - {source_labels: [__address__], "
                "target_label: __param_target}\n"
                "    - {source_labels: [__param_target], "
                "target_label: instance}\n"
                "    - {target_label: __address__, "
                "replacement: '127.0.0.1:%d'}\n" % (targets, port))
    os.rename(path + ".tmp", path)


def http(url, method="GET"):
    req = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(req, timeout=WAIT) as r:
            return r.status
    except OSError:
        return None


def prom_once(port):
    conf = os.path.join(TMP, "prometheus.yml")
    bb = closed_port()      # no exporter: start and reload do not need it
    prom_config(conf, bb, False)
    data = os.path.join(TMP, "prom-data")
    subprocess.run(["rm", "-rf", data])
    f = {}
    d = Daemon([env["PROM"], "--config.file=" + conf,
                "--storage.tsdb.path=" + data, "--web.enable-lifecycle",
                "--web.listen-address=127.0.0.1:%d" % port], False)
    base = "http://127.0.0.1:%d" % port
    try:
        deadline = time.monotonic() + WAIT
        while http(base + "/-/ready") != 200:
            if time.monotonic() > deadline or d.p.poll() is not None:
                raise SystemExit("prometheus did not become ready: %s" % (
                    [x for _, x in d.events[-5:]],))
            time.sleep(0.005)
        f["ready"] = time.monotonic() - d.t0
        time.sleep(2.0)
        f["hwm_start"] = status_kb(d.p.pid, "VmHWM")
        f["rss"] = status_kb(d.p.pid, "VmRSS")
        for key, changed in (("same", False), ("changed", True)):
            prom_config(conf, bb, changed)
            time.sleep(0.5)
            reset_hwm(d.p.pid)
            t = time.monotonic()
            if http(base + "/-/reload", "POST") != 200:
                raise SystemExit("prometheus /-/reload failed")
            f["reload_" + key] = time.monotonic() - t
            f["hwm_" + key] = status_kb(d.p.pid, "VmHWM")
        t = time.monotonic()
        d.p.send_signal(signal.SIGTERM)
        d.p.wait(timeout=WAIT)
        f["stop"] = time.monotonic() - t
    finally:
        d.close()
    t = time.monotonic()
    p = subprocess.run(["promtool", "check", "config", conf],
                       capture_output=True)
    if p.returncode == 0:
        f["check"] = time.monotonic() - t
    return f


def prom_series():
    runs = []
    for r in range(max(3, R - 2)):
        log("prometheus: run %d" % (r + 1))
        runs.append(prom_once(closed_port()))
    return runs


def cell(runs, key, unit):
    xs = [f[key] for f in runs if key in f]
    if not xs:
        return "–"
    if unit == "ms":
        fmt = lambda x: "%.0f" % (x * 1e3) if x >= 0.01 else "%.1f" % (
            x * 1e3)
    else:
        fmt = lambda x: "{:,.1f}".format(x / 1024)
    return "%s (%s–%s)" % (fmt(statistics.median(xs)), fmt(min(xs)),
                           fmt(max(xs)))


ROWS = [
    ("config check (`sonde -t`; `promtool check config`)", "check", "ms"),
    ("start → ready (READY=1; Prometheus: /-/ready 200)", "ready", "ms"),
    ("start → first probe result (first `check=` line)", "first", "ms"),
    ("reload, same config (SIGHUP → READY=1; POST /-/reload)",
     "reload_same", "ms"),
    ("reload, changed config (half renamed, half re-timed)",
     "reload_changed", "ms"),
    ("stop (SIGTERM → exit)", "stop", "ms"),
    ("loop lag max over the run (sonde's `event=stopped`)", "lag_max",
     "ms"),
    ("VmRSS 2 s after ready (MB)", "rss", "MB"),
    ("VmHWM at start (MB)", "hwm_start", "MB"),
    ("VmHWM during the same-config reload (MB)", "hwm_same", "MB"),
    ("VmHWM during the changed reload (MB)", "hwm_changed", "MB"),
]


def cpu_times():
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v[:8]), v[3] + v[4]


def main():
    global TLS_PORT
    TLS_PORT = closed_port()
    c0 = cpu_times()
    cols = [("sonde, %s TCP" % "{:,}".format(N),
             sonde_series("tcp", ["tcp"]))]
    if not QUICK:
        cols.append(("sonde, %s mixed" % "{:,}".format(N),
                     sonde_series("mixed", ["http", "dns", "tcp", "tls"])))
    if env["PROM"] and not QUICK:
        cols.append(("Prometheus, %s blackbox targets" % "{:,}".format(N),
                     prom_series()))
    c1 = cpu_times()
    busy = 100.0 * (1 - (c1[1] - c0[1]) / max(1, c1[0] - c0[0]))
    report(cols, busy)


def report(cols, busy):
    prom_v = ""
    if env["PROM"] and not QUICK:
        prom_v = subprocess.run([env["PROM"], "--version"],
                                capture_output=True, text=True).stdout
        prom_v = ", Prometheus " + prom_v.split()[2]
    print("### Startup, reload and stop at %s checks\n" % "{:,}".format(N))
    print("`bench/startup.sh` (sonde %s%s; %d runs per column, median "
          "(min–max), ms unless MB). Each run starts the daemon with its "
          "own NOTIFY_SOCKET; a harness stamps (CLOCK_MONOTONIC) each "
          "sd_notify datagram and stderr line as it arrives. Checks at a "
          "10 s interval: TCP against bench/tcp_sink; *mixed* is a quarter "
          "each of http and dns (bench/delay_server), tcp and tls (a "
          "closed port). Reloads come 2 s after ready (probes running); "
          "VmHWM is reset (`/proc/PID/clear_refs`) before each. Prometheus "
          "scrapes blackbox_exporter's /probe for the same number of "
          "targets (exporter not running: start and reload do not need "
          "it). Host busy share during the runs: %.0f%% of %d CPUs.\n" % (
              env["SONDE_REV"], prom_v, R, busy, os.cpu_count()))
    print("| | " + " | ".join(c for c, _ in cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for label, key, unit in ROWS:
        print("| %s | %s |" % (label, " | ".join(
            cell(runs, key, unit) for _, runs in cols)))
    tcp = cols[0][1]
    worst = max(statistics.median([f[k] for f in tcp])
                for k in ("ready", "reload_same", "reload_changed"))
    ok = worst <= 0.3
    print("\nTarget (issue #9: slow is over 300 ms): at %s TCP checks, start → ready and each "
          "reload under 300 ms (medians): **%s** (slowest %.0f ms)." % (
              "{:,}".format(N), "PASS" if ok else "FAIL", worst * 1e3))


main()
PY
