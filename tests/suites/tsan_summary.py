#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
# The summary table of tests/suites/run_tsan_suite.sh: tsan_summary.py OUTDIR/results.tsv
import csv, sys, collections
rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
skips = collections.Counter(r["class"] for r in rows if r["class"].startswith("skip:"))
kept = [r for r in rows if not r["class"].startswith("skip:")]
def n(v):
    try: return int(v)
    except ValueError: return None
def tally(cls, col_ok, tool):
    rs = [r for r in kept if r["class"] == cls]
    ok = 0; ran = 0
    for r in rs:
        if tool == "tsan" and r["tsan_status"] == "":
            continue
        if tool == "ipcrace" and (n(r["ipcrace_all"]) is None or n(r["ipcrace_all"]) < 0):
            continue  # no report (timeout, error): listed below, not counted
        ran += 1
        if col_ok(r, tool): ok += 1
    return ok, ran
def race_found(r, t):
    v = n(r["ipcrace_races"] if t == "ipcrace" else r["tsan_races"]); return bool(v and v > 0)
def lo_found(r, t):
    v = n(r["ipcrace_lockorder"] if t == "ipcrace" else r["tsan_lockorder"]); return bool(v and v > 0)
def fp(r, t):
    if t == "ipcrace":
        v = n(r["ipcrace_all"]); return bool(v and v > 0)
    return (n(r["tsan_races"]) or 0) + (n(r["tsan_lockorder"]) or 0) > 0
print("| | TSan (clang 14) | ipcrace |")
print("|---|---|---|")
for label, cls, fn in (("races found", "race", race_found), ("lock-order found", "lockorder", lo_found),
                       ("false positives (any finding) on clean", "clean", fp)):
    a = tally(cls, fn, "tsan"); b = tally(cls, fn, "ipcrace")
    print(f"| {label} | {a[0]}/{a[1]} | {b[0]}/{b[1]} |")
bad = [r["test"] for r in kept if n(r["ipcrace_all"]) is None or n(r["ipcrace_all"]) < 0]
print(f"kept {len(kept)} of {len(rows)}; skipped: " + ", ".join(f"{k[5:]} {v}" for k, v in sorted(skips.items())))
if bad:
    print("ipcrace gave no JSON report (timeout, error): " + " ".join(bad))
for cls, fn, what in (("race", race_found, "missed races"), ("lockorder", lo_found, "missed lock-order"),
                      ("clean", fp, "false positives")):
    xs = [r["test"] for r in kept if r["class"] == cls and (fn(r, "ipcrace") != (cls != "clean"))]
    print(f"ipcrace {what}: " + " ".join(xs))
