#!/usr/bin/env python3
"""BPF program cost of one ipcrace process over a time window.

bpf_prog_stats.py snap PID FILE      save run_cnt/run_time_ns of PID's programs
bpf_prog_stats.py diff PID FILE SECS print per program: runs/s, ns/run, CPU share
bpf_prog_stats.py windows PID N SECS ns/run of each program in N windows of SECS
                                     each: min and median (a window that another
                                     task's preemption of a program inflates, or
                                     other processes' cheap runs dilute, is one
                                     of N; the median is the steadier figure)

Needs /proc/sys/kernel/bpf_stats_enabled=1 in between (the caller sets it and
puts it back).  The CPU share is of one core (run_time_ns / SECS / 1e9).
"""
import json, os, subprocess, sys

def prog_ids(pid):
    """the ids of the BPF programs PID holds a descriptor of (its fdinfo)"""
    ids = set()
    d = f"/proc/{pid}/fdinfo"
    for fd in os.listdir(d):
        try:
            for line in open(os.path.join(d, fd)):
                if line.startswith("prog_id:"):
                    ids.add(int(line.split()[1]))
        except OSError:
            pass
    return ids

def progs(pid):
    out = subprocess.run(["bpftool", "-j", "prog", "show"], capture_output=True, text=True).stdout
    mine = prog_ids(pid)
    res = {}
    for p in json.loads(out or "[]"):
        if p["id"] not in mine:
            continue
        res[str(p["id"])] = {"name": p.get("name", "?"), "cnt": p.get("run_cnt", 0),
                             "ns": p.get("run_time_ns", 0)}
    return res

if sys.argv[1] == "windows":
    import statistics, time
    pid, nwin, secs = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    per = {}
    prev = progs(pid)
    for _ in range(nwin):
        time.sleep(secs)
        cur = progs(pid)
        for i, p in cur.items():
            b = prev.get(i, {"cnt": 0, "ns": 0})
            if p["cnt"] - b["cnt"] >= 1000:
                per.setdefault(p["name"], []).append((p["ns"] - b["ns"]) / (p["cnt"] - b["cnt"]))
        prev = cur
    for name, v in sorted(per.items()):
        print(f"  bpf {name:<16} ns/run min {min(v):6.0f} median {statistics.median(v):6.0f} "
              f"({len(v)} windows of {secs} s)")
    sys.exit(0)
mode, pid, path = sys.argv[1], int(sys.argv[2]), sys.argv[3]
if mode == "snap":
    json.dump(progs(pid), open(path, "w"))
    sys.exit(0)
secs = float(sys.argv[4])
before = json.load(open(path))
rows = []
for i, p in progs(pid).items():
    b = before.get(i, {"cnt": 0, "ns": 0})
    cnt, ns = p["cnt"] - b["cnt"], p["ns"] - b["ns"]
    if cnt:
        rows.append((ns, cnt, p["name"]))
rows.sort(reverse=True)
total = sum(r[0] for r in rows)
print(f"  bpf: {total / secs / 1e9:.3f} of a core in ipcrace's programs ({len(rows)} ran)")
for ns, cnt, name in rows[:10]:
    print(f"  bpf {name:<16} {cnt / secs:>10.0f} runs/s {ns / cnt:>7.0f} ns/run {ns / secs / 1e9:.3f} core")
