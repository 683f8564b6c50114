#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Checks an `ipcrace check --format json` report against a fixture's expectations.

A fixture declares what ipcrace must find in comment lines of its source:

    // ipcrace-expect: lock-order-inversion 1     exact count of one kind (repeatable)
    // ipcrace-expect: data-race 1-3              a count within a range (inclusive)
    // ipcrace-expect: none                       a clean fixture: no finding at all
    // ipcrace-expect-functions: f1 f2            functions that must appear in the
                                                  stacks of each expected finding
    // ipcrace-expect-every-stack: f1 main        functions that must appear in every
                                                  stack of each expected finding (each
                                                  access, each cycle edge and the stack
                                                  of the lock it held): whole stacks
    // ipcrace-expect-processes: 2                distinct pids in each expected finding
    // ipcrace-expect-cycle-length: 2             edges in each lock-order cycle
    // ipcrace-expect-status: confirmed            the "status" of each expected data race
                                                  (predicted, candidate, confirmed)
    // ipcrace-args: ...                          extra arguments (read by run_fixtures.sh)
    // ipcrace-options: ...                       ipcrace check options (read by run_fixtures.sh)

Rules: each expected kind must be found as many times as declared (a range
where the count depends on which code locations a sampling watcher saw), and
no other kind may appear (a clean fixture fails on any finding). When functions
are required, every one of them must be in the finding's stacks, and at least
one frame must point into the fixture's own .c file with a line > 0. The tool's
exit code, when given, must be 66 for a fixture that expects findings and 0 for
a clean one.

Exit status: 0 the report matches, 1 it does not (reasons on stdout, first line
first), 2 usage error or a fixture whose expectations cannot be parsed.
"""

import argparse
import json
import os
import re
import sys
from collections import Counter

EXIT_FINDINGS = 66
EXIT_CLEAN = 0

_DIRECTIVE = re.compile(
    r"^\s*(?://|/?\*)\s*ipcrace-(expect|expect-functions|expect-every-stack|expect-processes|"
    r"expect-cycle-length|expect-status|args|options)\s*:\s*(.*?)\s*(?:\*/)?\s*$")
_KIND = re.compile(r"^[a-z][a-z0-9-]*$")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class ExpectError(Exception):
    """The fixture's expectation lines are malformed."""


class Expectations:
    def __init__(self, source):
        self.source = source
        self.counts = {}          # kind -> count (the least); empty for a clean fixture
        self.count_max = {}       # kind -> the most; == counts[kind] for an exact count
        self.clean = False
        self.functions = []
        self.every_stack = []     # functions each stack must hold
        self.processes = None
        self.cycle_length = None
        self.status = None        # the "status" every expected data race must have
        self.args = []
        self.options = []

    @property
    def expected_exit(self):
        return EXIT_CLEAN if self.clean else EXIT_FINDINGS


def _positive_int(value, what, minimum=1):
    if not re.fullmatch(r"[0-9]+", value) or int(value) < minimum:
        raise ExpectError(f"{what}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def _count_range(value, what):
    """'N' is exactly N; 'N-M' is N to M inclusive. Returns (min, max)."""
    low, sep, high = value.partition("-")
    low = _positive_int(low, what)
    if not sep:
        return low, low
    high = _positive_int(high, what)
    if high < low:
        raise ExpectError(f"{what}: empty count range {value!r}")
    return low, high


def _count_text(count):
    low, high = count
    return str(low) if low == high else f"{low}-{high}"


def parse_expectations(path):
    """Reads the ipcrace-* directives of a fixture source. Raises ExpectError."""
    exp = Expectations(path)
    saw_expect = False
    with open(path, encoding="utf-8", errors="replace") as f:
        for lineno, line in enumerate(f, 1):
            m = _DIRECTIVE.match(line)
            if not m:
                continue
            name, value = m.group(1), m.group(2)
            where = f"{os.path.basename(path)}:{lineno}"
            if name == "expect":
                saw_expect = True
                words = value.split()
                if words == ["none"]:
                    exp.clean = True
                    continue
                if len(words) != 2 or not _KIND.match(words[0]):
                    raise ExpectError(f"{where}: ipcrace-expect wants 'KIND COUNT', 'KIND MIN-MAX' "
                                      f"or 'none', got {value!r}")
                kind = words[0]
                if kind in exp.counts:
                    raise ExpectError(f"{where}: {kind} is expected twice")
                exp.counts[kind], exp.count_max[kind] = _count_range(words[1], where)
            elif name == "expect-functions":
                for fn in value.split():
                    if not _IDENT.match(fn):
                        raise ExpectError(f"{where}: not a function name: {fn!r}")
                    exp.functions.append(fn)
            elif name == "expect-every-stack":
                for fn in value.split():
                    if not _IDENT.match(fn):
                        raise ExpectError(f"{where}: not a function name: {fn!r}")
                    exp.every_stack.append(fn)
            elif name == "expect-processes":
                exp.processes = _positive_int(value, where)
            elif name == "expect-cycle-length":
                exp.cycle_length = _positive_int(value, where, minimum=2)
            elif name == "expect-status":
                if value not in ("predicted", "candidate", "confirmed"):
                    raise ExpectError(f"{where}: ipcrace-expect-status wants predicted, "
                                      f"candidate or confirmed, got {value!r}")
                exp.status = value
            elif name == "args":
                exp.args = value.split()
            elif name == "options":
                exp.options = value.split()
    if not saw_expect:
        raise ExpectError(f"{os.path.basename(path)}: no ipcrace-expect line")
    if exp.clean and exp.counts:
        raise ExpectError(f"{os.path.basename(path)}: 'none' together with expected kinds")
    if exp.clean and (exp.functions or exp.every_stack or exp.processes or exp.cycle_length
                      or exp.status):
        raise ExpectError(f"{os.path.basename(path)}: a clean fixture cannot require stacks, processes or cycles")
    return exp


def _participants(finding):
    """The threads that take part in a finding: cycle edges and accesses."""
    out = []
    for key in ("cycle", "accesses"):
        items = finding.get(key)
        if isinstance(items, list):
            out.extend(x for x in items if isinstance(x, dict))
    return out


def _stacks(finding):
    """Every stack of a finding, as (where, frames): "stack" and "*_stack" lists."""
    out = []
    for i, holder in enumerate([finding] + _participants(finding)):
        for key, value in holder.items():
            if (key == "stack" or key.endswith("_stack")) and isinstance(value, list):
                out.append((f"{key} of participant {i}" if i else key,
                            [fr for fr in value if isinstance(fr, dict)]))
    return out


def _frames(finding):
    """Every stack frame of a finding: "stack" and any "*_stack" list."""
    frames = []
    holders = [finding] + _participants(finding)
    for holder in holders:
        for key, value in holder.items():
            if (key == "stack" or key.endswith("_stack")) and isinstance(value, list):
                frames.extend(fr for fr in value if isinstance(fr, dict))
    return frames


def _function_matches(name, wanted):
    # GCC clones keep the name with a suffix (f.constprop.0, f.isra.0, f.cold).
    return isinstance(name, str) and (name == wanted or name.startswith(wanted + "."))


def _frame_in_file(frame, basename):
    path = frame.get("file")
    line = frame.get("line")
    return (isinstance(path, str) and os.path.basename(path) == basename
            and isinstance(line, int) and not isinstance(line, bool) and line > 0)


def _pids(finding):
    return {p["pid"] for p in _participants(finding) if isinstance(p.get("pid"), int)}


def check_finding(finding, exp, index):
    """Reasons why one expected finding does not meet the stack/pid/cycle rules."""
    reasons = []
    kind = finding.get("kind")
    label = f"{kind} #{index}"
    frames = _frames(finding)
    if exp.functions:
        names = [fr.get("function") for fr in frames]
        missing = [fn for fn in exp.functions
                   if not any(_function_matches(n, fn) for n in names)]
        if missing:
            reasons.append(f"{label}: function(s) not in its stacks: {' '.join(missing)}")
        src = os.path.basename(exp.source)
        if not any(_frame_in_file(fr, src) for fr in frames):
            reasons.append(f"{label}: no stack frame in {src} with a line > 0")
    for where, stack in _stacks(finding) if exp.every_stack else []:
        names = [fr.get("function") for fr in stack]
        missing = [fn for fn in exp.every_stack
                   if not any(_function_matches(n, fn) for n in names)]
        if missing:
            shown = " ".join(str(n) for n in names[:12]) or "(empty)"
            reasons.append(f"{label}: {where} lacks {' '.join(missing)}: {shown}")
    if exp.status is not None and kind == "data-race" and finding.get("status") != exp.status:
        reasons.append(f"{label}: status {finding.get('status')!r}, expected {exp.status!r}")
    if exp.processes is not None:
        pids = _pids(finding)
        if len(pids) != exp.processes:
            reasons.append(f"{label}: {len(pids)} distinct pid(s) {sorted(pids)}, expected {exp.processes}")
    if exp.cycle_length is not None and kind == "lock-order-inversion":
        cycle = finding.get("cycle")
        n = len(cycle) if isinstance(cycle, list) else 0
        if n != exp.cycle_length:
            reasons.append(f"{label}: cycle of {n} edge(s), expected {exp.cycle_length}")
        for i, edge in enumerate(cycle if isinstance(cycle, list) else []):
            if not isinstance(edge, dict) or not isinstance(edge.get("lock"), dict) \
                    or not isinstance(edge.get("acquired_while_holding"), dict):
                reasons.append(f"{label}: cycle edge {i} lacks 'lock' or 'acquired_while_holding'")
    return reasons


def load_report(path):
    """Returns (findings, None) or (None, reason)."""
    try:
        with open(path, encoding="utf-8") as f:
            report = json.load(f)
    except FileNotFoundError:
        return None, f"no report at {path}"
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        return None, f"report {path} is not valid JSON: {e}"
    if not isinstance(report, dict):
        return None, "report is not a JSON object"
    if report.get("schema") != 1:
        return None, f"report schema is {report.get('schema')!r}, expected 1"
    findings = report.get("findings")
    if not isinstance(findings, list) or not all(isinstance(x, dict) for x in findings):
        return None, "report has no 'findings' list of objects"
    return findings, None


def check(exp, findings, exit_code=None):
    """All reasons why the findings (and exit code) do not match; [] if they do."""
    reasons = []
    got = Counter(str(f.get("kind")) for f in findings)
    for kind, least in sorted(exp.counts.items()):
        want = (least, exp.count_max[kind])
        if not want[0] <= got[kind] <= want[1]:
            what = "missing" if got[kind] == 0 else "wrong count of"
            reasons.append(f"{what} {kind}: expected {_count_text(want)}, got {got[kind]}")
    unexpected = sorted(k for k in got if k not in exp.counts)
    if unexpected:
        listing = ", ".join(f"{k} x{got[k]}" for k in unexpected)
        prefix = "clean fixture has findings" if exp.clean else "unexpected findings"
        reasons.append(f"{prefix}: {listing}")
    index = Counter()
    for f in findings:
        kind = f.get("kind")
        if kind in exp.counts:
            index[kind] += 1
            reasons.extend(check_finding(f, exp, index[kind]))
    if exit_code is not None and exit_code != exp.expected_exit:
        reasons.append(f"ipcrace exited {exit_code}, expected {exp.expected_exit}")
    return reasons


def summarize(findings):
    """A few lines per finding, for a failure message."""
    if not findings:
        return ["report: no findings"]
    lines = [f"report: {len(findings)} finding(s)"]
    for f in findings:
        fns = []
        for fr in _frames(f):
            name = fr.get("function")
            if isinstance(name, str) and name not in fns:
                fns.append(name)
        pids = sorted(_pids(f))
        summary = f.get("summary", "")
        lines.append(f"  - {f.get('kind')}: {summary}")
        lines.append(f"    pids {pids}; functions: {' '.join(fns[:12]) or '(no stacks)'}")
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", required=True, help="fixture source with ipcrace-expect lines")
    ap.add_argument("--report", help="JSON report written by ipcrace check --output")
    ap.add_argument("--exit-code", type=int, help="exit code of ipcrace check")
    ap.add_argument("--print-args", action="store_true",
                    help="print the fixture's ipcrace-args, one per line, and exit")
    ap.add_argument("--print-options", action="store_true",
                    help="print the fixture's ipcrace-options, one per line, and exit")
    ap.add_argument("--summary", action="store_true",
                    help="print a summary of the report's findings and exit")
    args = ap.parse_args(argv)

    try:
        exp = parse_expectations(args.source)
    except (OSError, ExpectError) as e:
        print(f"bad expectations: {e}")
        return 2
    if args.print_args or args.print_options:
        for a in exp.args if args.print_args else exp.options:
            print(a)
        return 0
    if not args.report:
        ap.error("--report is required")

    findings, err = load_report(args.report)
    if err:
        print(err)
        return 1
    if args.summary:
        for line in summarize(findings):
            print(line)
        return 0
    reasons = check(exp, findings, args.exit_code)
    if not reasons:
        return 0
    for r in reasons:
        print(r)
    for line in summarize(findings):
        print(line)
    return 1


if __name__ == "__main__":
    sys.exit(main())
