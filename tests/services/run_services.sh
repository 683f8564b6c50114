#!/usr/bin/env bash
# Real services under load, attached: PostgreSQL 15 under pgbench and nginx
# 1.22 (2 workers, limit_req_zone + limit_conn_zone) under ab, each started
# in a temporary directory on a Unix socket or loopback, measured natively
# and then with `ipcrace check -p MASTER` attached to the service (the
# master, the children it has and those it starts later) for the whole load run (SECONDS of pgbench -T, of ab -t).
# Prints, per service and round: the findings ipcrace reported (count and
# kinds; a confirmed data race says so), the candidates listed apart (count
# by why: see "Confirmation holds" in the README), the confirmation holds
# and how many saw the word change, processes, threads, events and events
# lost, the watchpoint hits recorded and the traps past them (from -v), what
# the watching cost and whether its budget sampled it (stats.watch_sampling;
# the run fails when stderr and the report disagree on it), with --overhead
# (IPCRACE_OPTIONS=overhead=PCT) the share of the time the lock probes were
# on (stats.lock_sampling, README "Lock sampling"), and the
# throughput ratio (attached / native, measured back to back).
#
# How a round is measured, so that neither side is favoured: before the
# first round one unmeasured native load of a third of SECONDS warms the
# service and the caches; odd rounds run native first, even rounds attached
# first (PostgreSQL's tables grow and its autovacuum comes when it comes);
# before each measured load PostgreSQL takes a checkpoint, so that neither
# run writes the other's dirty buffers and both pay the full-page writes
# after one. The attached load starts once ipcrace prints "attached to"
# (every probe in place), as a user's load would: ipcrace's start-up (the
# verifier, decoding the service's code for atomics, about 2-3 s of one
# core) is printed apart ("attached after"), not charged to the load; until
# 2026-12-08 the load started 2 s after ipcrace, while ipcrace was still
# loading, and paid for it. ipcrace is stopped (SIGTERM, as Ctrl-C) once the
# load is over.
# Installs what it needs from Debian (apt).
# Everything it starts is stopped on exit, also when it fails.
#
# Usage: run_services.sh IPCRACE_BIN [SECONDS] [ROUNDS]
# IPCRACE_OPTIONS reaches ipcrace (e.g. "access-probes=on");
# IPCRACE_SERVICES_KEEP=DIR keeps each run's JSON report, stderr and trace;
# IPCRACE_SERVICES="nginx" (or "postgresql") runs one of the two, and
# "redis" (redis-benchmark SET/GET/INCR/LPUSH/LPOP, 16 clients) and "memcached"
# (4 worker threads, memcaslap 16 connections on 2 threads) can be named too;
# IPCRACE_SERVICES_PROFILE=1 also prints the run time of each of ipcrace's
# BPF programs during the attached load (kernel.bpf_stats_enabled is set for
# the load and put back to 0; bpf_prog_stats.py).
# Exit status: 0 when every attached run had 0 findings, 1 otherwise (issue
# 8's acceptance test: ctest's e2e/services); 77 (skip) without root, or
# when the packages cannot be installed (no network) outside CI.
set -uo pipefail
ipcrace=$(realpath "$1")
secs=${2:-15}
rounds=${3:-1}
if [ "$(id -u)" -ne 0 ]; then echo "run_services: needs root"; exit 77; fi

# IPCRACE_SERVICES="postgresql nginx" (the default), any of them, or also redis, memcached
services=" ${IPCRACE_SERVICES:-postgresql nginx} "
pkgs=()
[[ $services == *" postgresql "* ]] && pkgs+=(postgresql postgresql-contrib)
[[ $services == *" nginx "* ]] && pkgs+=(nginx apache2-utils)
[[ $services == *" redis "* ]] && pkgs+=(redis-server redis-tools)
[[ $services == *" memcached "* ]] && pkgs+=(memcached libmemcached-tools)
need=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
	echo "run_services: installing ${need[*]}"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends "${need[@]}" >/dev/null; } ||
		{ echo "run_services: apt failed: cannot install ${need[*]}"; [ -n "${CI:-}" ] && exit 1; exit 77; }
fi
# the packages start their own default instances: ours run beside them in a temporary directory
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
tmp=$(mktemp -d /tmp/ipcrace-services.XXXXXX)
chmod 755 "$tmp"
nginx_pid=""
redis_pid=""
mc_pid=""
ic=""
prof=${IPCRACE_SERVICES_PROFILE:-}
here=$(dirname "$(realpath "$0")")
# CPU accounting (cgroup v1 cpuacct, when mounted): the service, its load
# client and ipcrace each in a group of their own, so the CPU time of
# processes that exit during the load (backends) is counted too
acct=/sys/fs/cgroup/cpuacct
cg=""
if [ -w "$acct/cgroup.procs" ]; then
	cg=$acct/ipcrace-services.$$
	mkdir -p "$cg/svc" "$cg/client" "$cg/tracer" || cg=""
fi
# incg GROUP CMD...: runs CMD in GROUP (or as it is without accounting)
incg() {
	local g=$1
	shift
	if [ -n "$cg" ]; then
		sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg/$g" "$@"
	else
		"$@"
	fi
}
# tracer_pre: the words before ipcrace's command that put it in its group (an
# exec, so that $! is ipcrace's own pid)
tracer_pre=()
[ -z "$cg" ] || tracer_pre=(sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg/tracer")
# the same for a service started in the background, so that $! is the service itself
svc_pre=()
[ -z "$cg" ] || svc_pre=(sh -c 'echo $$ >"$0/cgroup.procs" && exec "$@"' "$cg/svc")
# usage: "svc client tracer" CPU nanoseconds so far
usage() {
	[ -n "$cg" ] || { echo "0 0 0"; return; }
	echo "$(cat "$cg/svc/cpuacct.usage") $(cat "$cg/client/cpuacct.usage") $(cat "$cg/tracer/cpuacct.usage")"
}
cleanup() {
	[ -n "$prof" ] && echo 0 >/proc/sys/kernel/bpf_stats_enabled
	[ -n "$ic" ] && kill "$ic" 2>/dev/null && wait "$ic" 2>/dev/null
	[ -f "$tmp/pg/postmaster.pid" ] && su postgres -s /bin/sh -c "$pgbin/pg_ctl -D $tmp/pg -m immediate stop" >/dev/null 2>&1
	[ -n "$nginx_pid" ] && kill "$nginx_pid" 2>/dev/null && sleep 0.3
	[ -n "$redis_pid" ] && kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null
	[ -n "$mc_pid" ] && kill "$mc_pid" 2>/dev/null && wait "$mc_pid" 2>/dev/null
	rm -rf "$tmp"
	if [ -n "$cg" ]; then
		for g in svc client tracer; do
			for _ in 1 2 3 4 5 6 7 8 9 10; do
				[ -s "$cg/$g/cgroup.procs" ] || break
				sleep 0.3
			done
			rmdir "$cg/$g" 2>/dev/null
		done
		rmdir "$cg" 2>/dev/null
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
failed=0

# cpu_ticks PID: the user + system clock ticks of a process so far (all its threads)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0; }
# ipcrace's CPU share of one core while the load ran: TICKS_BEFORE TICKS_AFTER SECONDS
cpu_share() { awk -v a="$1" -v b="$2" -v s="$3" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", (b - a) / hz / s }'; }

# prof_start PID / prof_end PID SECONDS: BPF program cost over the load (IPCRACE_SERVICES_PROFILE)
prof_start() {
	[ -n "$prof" ] || return 0
	python3 "$here/bpf_prog_stats.py" snap "$1" "$tmp/prof.json"
	echo 1 >/proc/sys/kernel/bpf_stats_enabled
}
prof_end() {
	[ -n "$prof" ] || return 0
	echo 0 >/proc/sys/kernel/bpf_stats_enabled
	python3 "$here/bpf_prog_stats.py" diff "$1" "$tmp/prof.json" "$2"
}

# report NAME NATIVE ATTACHED JSON STDERR [TRACE] [CPU]: one line per attached run
report() {
	local name=$1 native=$2 attached=$3 json=$4 err=$5 trace=${6:-} cpu=${7:-} usage=${8:-} ready=${9:-}
	local hits=""
	# recorded watchpoint hits: the trace's mem-access events that no access probe made
	[ -n "$trace" ] && [ -f "$trace" ] &&
		hits=$("$ipcrace" dump "$trace" 2>/dev/null | grep -c ' mem-access \[\(read\|write\)')
	python3 - "$name" "$native" "$attached" "$json" "$err" "$hits" "$cpu" "$usage" "$secs" "$ready" <<'PY'
import json, re, sys
name, native, attached, path, err, hits, cpu, usage, secs, ready = sys.argv[1:11]
native, attached = float(native), float(attached)
try:
    d = json.load(open(path))
except Exception as e:
    print(f"{name}: no report ({e})"); sys.exit(1)
kinds = {}
for f in d.get("findings", []):
    k = f["kind"] + ("(confirmed)" if f.get("status") == "confirmed" else "")
    kinds[k] = kinds.get(k, 0) + 1
why = {}
for c in d.get("candidates", []):
    w = (c.get("unseen") or {}).get("why", "?")
    why[w] = why.get(w, 0) + 1
st = d.get("stats", {})
e = open(err, errors="replace").read() if err else ""
def num(pat):
    m = re.search(pat, e)
    return int(m.group(1)) if m else None
over = num(r"watch: (\d+) hits trapped past a budget")
spin = num(r"watch: (\d+) hits repeated a spin")
holds = re.search(r"confirm: .*?(\d+) holds of up to \d+ us \((\d+) saw", e)
traps = ""
if hits != "":
    traps = f"watch hits recorded {hits}"
    if over is not None:
        traps += f" (+{over} past budget, +{spin} spin repeats: {int(hits) + over + spin} traps)"
ratio = attached / native if native else 0
# what the watching cost and whether its budget sampled it (stats.watch_sampling), said in the
# report as on stderr: a run whose stderr says sampled and whose report does not fails
ws = st.get("watch_sampling")
sampling = ""
bad = False
if ws:
    pct = f" ({100 * ws['cost_ns'] / ws['traced_ns']:.1f}%)" if ws.get("traced_ns") else ""
    sampling = (f"; watch cost {ws['traps']} traps + {ws['slot_switches']} armed slot switches = "
                f"{ws['cost_ns'] / 1e6:.1f} ms of {ws['traced_ns'] / 1e6:.0f} ms traced CPU{pct}, "
                f"ipcrace {ws['self_ns'] / 1e6:.0f} ms; sampled {ws['held_ticks']}/{ws['ticks']} ticks")
if ("watch: sampled:" in e) != bool(ws and ws.get("sampled")):
    sampling += "; ERROR: stderr and the report disagree on the watch sampling"
    bad = True
# --overhead's lock sampling (stats.lock_sampling), also said on stderr when it took probes off
ls = st.get("lock_sampling")
if ls:
    sampling += (f"; lock probes on {float(ls['on_share']) * 100:.0f}% of the time "
                 f"({ls['windows']} windows off, {ls['processes']}/{ls['metered_processes']} "
                 f"processes sampled, {ls['events']} lock events at {ls['event_ns']} ns)")
if ("locks: sampled:" in e) != bool(ls and ls.get("sampled")):
    sampling += "; ERROR: stderr and the report disagree on the lock sampling"
    bad = True
def cpu_line(usage):
    """CPU time per request (service + client + ipcrace, from cpuacct), native vs attached"""
    u = [int(x) for x in usage.split()] if usage else []
    if len(u) != 12 or not native or not attached:
        return ""
    nat = [u[3 + i] - u[i] for i in range(3)]
    att = [u[9 + i] - u[6 + i] for i in range(3)]
    n_req, a_req = native * float(secs), attached * float(secs)
    n_us, a_us = sum(nat) / n_req / 1e3, sum(att) / a_req / 1e3
    parts = ", ".join(f"{k} {v / a_req / 1e3:.1f} (native {w / n_req / 1e3:.1f})"
                      for k, v, w in zip(("service", "client", "ipcrace"), att, nat))
    return (f"; CPU us per request native {n_us:.1f}, attached {a_us:.1f} ({parts}); "
            f"CPU ratio native/attached {n_us / a_us:.2f}")
print(f"{name}: findings {sum(kinds.values())} {kinds or ''}; candidates {len(d.get('candidates', []))} "
      f"{why or ''}; holds {holds.group(1) + ' (' + holds.group(2) + ' saw a change)' if holds else 'none'}; "
      f"processes {st.get('processes')}, threads {st.get('threads')}, events {st.get('events')}, "
      f"lost {st.get('lost_events')}; {traps}; "
      f"throughput native {native:.1f}, attached {attached:.1f}, ratio {ratio:.2f}"
      + (f"; ipcrace used {cpu} of a core during the load" if cpu else "")
      + (f", attached after {ready} (its start-up, before the load)" if ready else "")
      + sampling + cpu_line(usage) + "; load average " + " ".join(open("/proc/loadavg").read().split()[:3]))
sys.exit(1 if kinds or bad else 0)
PY
}

# -p MASTER covers the service: its children, those it has and those it starts later (listing
# them too would fail the run when one exits meanwhile: a backend of the native run, say)
# IPCRACE_SERVICES_KEEP=DIR keeps the reports, stderr and traces there
keepdir=${IPCRACE_SERVICES_KEEP:-}
[ -z "$keepdir" ] || mkdir -p "$keepdir" || exit 1
# the trace is kept (in $tmp when no KEEP dir) to count the watchpoint hits
trace_args() { printf '%s\n' -t "${keepdir:-$tmp}/$1"; }
trace_of() { echo "${keepdir:-$tmp}/$1"; }
keep() { [ -z "$keepdir" ] || cp "$@" "$keepdir/"; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# wait_attached ERRFILE PID: waits (up to 120 s) until ipcrace PID says every probe is in place
# ("attached to N processes"), as a user would before starting the load; prints the seconds it
# took. 1 when ipcrace exited first.
wait_attached() {
	local t0 t1
	t0=$(date +%s.%N)
	for _ in $(seq 1200); do
		grep -q '^ipcrace: attached to' "$1" 2>/dev/null && break
		kill -0 "$2" 2>/dev/null || return 1
		sleep 0.1
	done
	t1=$(date +%s.%N)
	awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }'
}

# settle: before each measured load, the same state for both runs (PostgreSQL: a checkpoint,
# so that neither run starts with the other's dirty buffers to write)
settle() { [ -z "${settle_cmd:-}" ] || "$settle_cmd" >/dev/null 2>&1; }

# native_run LOAD_FUNC / attached_run LOAD_FUNC PID NAME R: one measured load each; they set
# native, n0, n1 and attached, a0, a1, cpu, ready (ipcrace's start-up: seconds until attached)
native_run() {
	settle
	n0=$(usage)
	native=$("$1")
	n1=$(usage)
}
attached_run() {
	local load=$1 pid=$2 name=$3 r=$4 t0
	mapfile -t targs < <(trace_args "$name-$r.trace")
	# stopped once the load is over (SIGTERM: a clean end, as Ctrl-C); --duration is the net
	"${tracer_pre[@]}" "$ipcrace" check -v "${targs[@]}" -p "$pid" --duration $((secs + 120)) --format json -o "$tmp/$name.json" 2>"$tmp/$name.err" &
	ic=$!
	ready=$(wait_attached "$tmp/$name.err" "$ic") || ready=failed
	settle
	t0=$(cpu_ticks "$ic")
	ready="$ready s, $(awk -v t="$t0" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }') s of CPU"
	prof_start "$ic"
	a0=$(usage)
	attached=$("$load")
	a1=$(usage)
	cpu=$(cpu_share "$t0" "$(cpu_ticks "$ic")" "$secs")
	prof_end "$ic" "$secs"
	kill -TERM "$ic" 2>/dev/null
	wait "$ic"
	ic=""
}

# attached_round LABEL NAME LOAD_FUNC PID ROUND: one native and one attached run of LOAD_FUNC
# (which prints the requests a second) with ipcrace attached to PID (its report, stderr and trace
# named after NAME), one report line "LABEL round ROUND". Odd rounds run native first, even
# rounds attached first: a service that drifts over the rounds (PostgreSQL's tables grow, its
# autovacuum and checkpoints come when they come) favours neither side. The attached load starts
# once ipcrace says it is attached, as a user's would: its start-up (the verifier, the probes)
# is a fixed cost, printed apart ("attached after"), not a share of the load.
attached_round() {
	local label=$1 name=$2 load=$3 pid=$4 r=$5 native attached n0 n1 a0 a1 cpu ready
	if [ $((r % 2)) -eq 1 ]; then
		native_run "$load"
		attached_run "$load" "$pid" "$name" "$r"
	else
		attached_run "$load" "$pid" "$name" "$r"
		native_run "$load"
	fi
	keep "$tmp/$name.json" "$tmp/$name.err"
	report "$label round $r" "${native:-0}" "${attached:-0}" "$tmp/$name.json" "$tmp/$name.err" "$(trace_of "$name-$r.trace")" "$cpu" "$n0 $n1 $a0 $a1" "$ready" || failed=1
	[ -n "$keepdir" ] || rm -f "$(trace_of "$name-$r.trace")"
}

# warm_up LOAD_FUNC: one unmeasured native load of a third of SECONDS before the first round, so
# that round 1's first run does not also pay for cold caches
warm_up() {
	local s=$secs
	secs=$(( (s + 2) / 3 ))
	"$1" >/dev/null
	secs=$s
}

# --- PostgreSQL -------------------------------------------------------------
if [[ $services == *" postgresql "* ]]; then
mkdir "$tmp/pg" "$tmp/pglog" && chown postgres: "$tmp/pg" "$tmp/pglog"
su postgres -s /bin/sh -c "$pgbin/initdb -D $tmp/pg -A trust" >"$tmp/initdb.log" 2>&1 ||
	{ echo "postgresql: initdb failed: $(tail -2 "$tmp/initdb.log")"; exit 1; }
incg svc su postgres -s /bin/sh -c "$pgbin/pg_ctl -D $tmp/pg -l $tmp/pglog/pg.log -w -o \"-k $tmp/pg -c listen_addresses=''\" start" >/dev/null ||
	{ echo "postgresql: start failed: $(tail -3 "$tmp/pglog/pg.log")"; exit 1; }
pgb() { incg client su postgres -s /bin/sh -c "pgbench -h $tmp/pg $*" 2>&1; }
pgb -i -q -s 4 postgres >/dev/null
master=$(head -1 "$tmp/pg/postmaster.pid")
pgload() { pgb -c 4 -j 2 -T "$secs" postgres | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | head -1; }
pg_checkpoint() { su postgres -s /bin/sh -c "psql -q -h $tmp/pg -c CHECKPOINT postgres"; }
settle_cmd=pg_checkpoint
warm_up pgload
for r in $(seq "$rounds"); do attached_round postgresql pg pgload "$master" "$r"; done
settle_cmd=""
fi

# --- nginx --------------------------------------------------------------------
if [[ $services == *" nginx "* ]]; then
port=$(free_port)
mkdir -p "$tmp/ngx/logs" "$tmp/ngx/html"
echo "ipcrace" >"$tmp/ngx/html/index.html"
cat >"$tmp/ngx/nginx.conf" <<CONF
worker_processes 2;
pid $tmp/ngx/nginx.pid;
error_log $tmp/ngx/logs/error.log;
events { worker_connections 256; }
http {
	access_log off;
	limit_req_zone \$binary_remote_addr zone=req:1m rate=100000r/s;
	limit_conn_zone \$binary_remote_addr zone=conn:1m;
	client_body_temp_path $tmp/ngx/body;
	proxy_temp_path $tmp/ngx/proxy;
	fastcgi_temp_path $tmp/ngx/fastcgi;
	uwsgi_temp_path $tmp/ngx/uwsgi;
	scgi_temp_path $tmp/ngx/scgi;
	server {
		listen 127.0.0.1:$port;
		root $tmp/ngx/html;
		location / { limit_req zone=req burst=100000; limit_conn conn 64; }
	}
}
CONF
incg svc nginx -p "$tmp/ngx" -c "$tmp/ngx/nginx.conf" -g 'daemon on;' || { echo "nginx: start failed"; exit 1; }
sleep 0.3
nginx_pid=$(cat "$tmp/ngx/nginx.pid")
abrun() { incg client ab -q -t "$secs" -n 100000000 -c 8 "http://127.0.0.1:$port/" 2>/dev/null | sed -n 's/^Requests per second: *\([0-9.]*\).*/\1/p'; }
warm_up abrun
for r in $(seq "$rounds"); do attached_round nginx ngx abrun "$nginx_pid" "$r"; done
fi


# --- redis (one process: an event loop and its background threads) -----------
if [[ $services == *" redis "* ]]; then
rport=$(free_port)
mkdir -p "$tmp/redis"
"${svc_pre[@]}" redis-server --port "$rport" --bind 127.0.0.1 --save '' --appendonly no --dir "$tmp/redis" \
	--logfile "$tmp/redis/redis.log" --daemonize no &
redis_pid=$!
for _ in $(seq 50); do redis-cli -p "$rport" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$rport" ping >/dev/null 2>&1 || { echo "redis: start failed: $(tail -2 "$tmp/redis/redis.log")"; exit 1; }
# redis-benchmark runs a request count, not a time: about SECONDS at 70k requests a second
# natively (5 tests); its requests a second = requests / wall time
rbench() {
	local n=$((secs * 14000)) t0 t1
	t0=$(date +%s.%N)
	incg client timeout -k 5 $((3 * secs + 30)) redis-benchmark -h 127.0.0.1 -p "$rport" -c 16 -n "$n" -t set,get,incr,lpush,lpop -q >/dev/null 2>&1
	t1=$(date +%s.%N)
	awk -v n="$n" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", 5 * n / (b - a) }'
}
warm_up rbench
for r in $(seq "$rounds"); do attached_round redis redis rbench "$redis_pid" "$r"; done
fi

# --- memcached (threads sharing a cache under pthread mutexes) ----------------
if [[ $services == *" memcached "* ]]; then
mport=$(free_port)
"${svc_pre[@]}" memcached -u nobody -l 127.0.0.1 -p "$mport" -U 0 -t 4 -m 64 &
mc_pid=$!
for _ in $(seq 50); do memcstat --servers="127.0.0.1:$mport" >/dev/null 2>&1 && break; sleep 0.1; done
mcbench() {
	incg client timeout -k 5 $((secs + 30)) memcaslap -s "127.0.0.1:$mport" -t "${secs}s" -c 16 -T 2 2>/dev/null |
		sed -n 's/^Run time: .* TPS: \([0-9]*\).*/\1/p' | tail -1
}
warm_up mcbench
for r in $(seq "$rounds"); do attached_round memcached memcached mcbench "$mc_pid" "$r"; done
fi
exit "$failed"
