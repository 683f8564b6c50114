#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Tests of the e2e fixture checker and runner, without a tracer.

check_report.py is tested on synthetic reports; run_fixtures.sh is run against
a stand-in `ipcrace` that runs the fixture and writes a chosen report, so the
runner's verdicts (pass, missing finding, hang, could not trace) are checked
without BPF. The fixture sources themselves are checked for well-formed
expectations whose required functions exist and are noinline.
"""

import contextlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.path.join(ROOT, "fixtures")
RUNNER = os.path.join(HERE, "run_fixtures.sh")
sys.path.insert(0, HERE)

import check_report as cr  # noqa: E402


def quiet_main(argv):
    """check_report.main with its messages swallowed."""
    with contextlib.redirect_stdout(io.StringIO()):
        return cr.main(argv)


def frame(function, file="abba.c", line=12):
    return {"function": function, "file": file, "line": line, "module": "/bin/abba"}


def edge(pid, function, file="abba.c"):
    return {"lock": {"kind": "mutex"}, "acquired_while_holding": {"kind": "mutex"},
            "pid": pid, "tid": pid, "comm": "abba",
            "stack": [frame("pthread_mutex_lock", "pthread_mutex_lock.c", 80),
                      frame(function, file), frame("main", file, 40)]}


def inversion(pids=(10, 11), functions=("lock_a_then_b", "lock_b_then_a"), file="abba.c"):
    return {"kind": "lock-order-inversion", "summary": "A -> B -> A",
            "cycle": [edge(p, f, file) for p, f in zip(pids, functions)]}


def misuse(kind, function="lock_twice", pid=10):
    return {"kind": kind, "summary": kind, "lock": {"kind": "mutex"},
            "accesses": [{"pid": pid, "tid": pid, "comm": "x", "stack": [frame(function)]}]}


class Workdir(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="ipcrace-check-test.")

    def tearDown(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def source(self, header, name="abba.c"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            f.write(textwrap.dedent(header) + "int main(void) { return 0; }\n")
        return path

    def report(self, findings, name="report.json"):
        path = os.path.join(self.dir, name)
        with open(path, "w") as f:
            json.dump({"schema": 1, "tool": {"name": "ipcrace"}, "stats": {},
                       "findings": findings}, f)
        return path


ABBA = """\
    // ipcrace-expect: lock-order-inversion 1
    // ipcrace-expect-functions: lock_a_then_b lock_b_then_a
    // ipcrace-expect-processes: 2
    // ipcrace-expect-cycle-length: 2
    """


class ParseTest(Workdir):
    def test_parses_all_directives(self):
        exp = cr.parse_expectations(self.source(ABBA + "// ipcrace-args: -n 3\n"))
        self.assertEqual(exp.counts, {"lock-order-inversion": 1})
        self.assertEqual(exp.functions, ["lock_a_then_b", "lock_b_then_a"])
        self.assertEqual((exp.processes, exp.cycle_length), (2, 2))
        self.assertEqual(exp.args, ["-n", "3"])
        self.assertEqual(exp.expected_exit, 66)

    def test_none_means_clean_and_exit_zero(self):
        exp = cr.parse_expectations(self.source("// ipcrace-expect: none\n"))
        self.assertTrue(exp.clean)
        self.assertEqual(exp.expected_exit, 0)

    def test_rejects_source_without_expectations(self):
        with self.assertRaises(cr.ExpectError):
            cr.parse_expectations(self.source("// nothing here\n"))

    def test_rejects_none_with_a_kind(self):
        with self.assertRaises(cr.ExpectError):
            cr.parse_expectations(self.source(
                "// ipcrace-expect: none\n// ipcrace-expect: double-lock 1\n"))

    def test_rejects_malformed_count(self):
        for bad in ("double-lock", "double-lock one", "double-lock 0", "Double_Lock 1"):
            with self.subTest(bad=bad), self.assertRaises(cr.ExpectError):
                cr.parse_expectations(self.source(f"// ipcrace-expect: {bad}\n"))

    def test_parses_options_and_a_count_range(self):
        exp = cr.parse_expectations(self.source(
            "// ipcrace-expect: data-race 1-3\n"
            "// ipcrace-expect-functions: f g\n"
            "// ipcrace-options: --watch /dev/shm/q+0x40:8\n"))
        self.assertEqual((exp.counts, exp.count_max), ({"data-race": 1}, {"data-race": 3}))
        self.assertEqual(exp.options, ["--watch", "/dev/shm/q+0x40:8"])
        self.assertEqual(exp.args, [])

    def test_rejects_empty_or_open_count_range(self):
        for bad in ("data-race 3-1", "data-race 0-2", "data-race 1-", "data-race -2"):
            with self.subTest(bad=bad), self.assertRaises(cr.ExpectError):
                cr.parse_expectations(self.source(f"// ipcrace-expect: {bad}\n"))

    def test_cli_prints_options_one_per_line(self):
        src = self.source("// ipcrace-expect: none\n// ipcrace-options: --watch total --seed 7\n")
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            self.assertEqual(cr.main(["--source", src, "--print-options"]), 0)
        self.assertEqual(out.getvalue(), "--watch\ntotal\n--seed\n7\n")

    def test_cli_exits_2_on_bad_expectations(self):
        src = self.source("// ipcrace-expect: none\n// ipcrace-expect-processes: 2\n")
        self.assertEqual(quiet_main(["--source", src, "--report", self.report([])]), 2)


class CheckTest(Workdir):
    def check(self, header, findings, exit_code=None):
        exp = cr.parse_expectations(self.source(header))
        return cr.check(exp, findings, exit_code)

    def test_race_status_must_match_when_declared(self):
        header = "// ipcrace-expect: data-race 1\n// ipcrace-expect-status: confirmed\n"
        race = misuse("data-race")
        race["status"] = "confirmed"
        self.assertEqual(self.check(header, [race], 66), [])
        race["status"] = "predicted"
        reasons = self.check(header, [race], 66)
        self.assertTrue(any("status 'predicted', expected 'confirmed'" in r for r in reasons), reasons)

    def test_matching_inversion_passes(self):
        self.assertEqual(self.check(ABBA, [inversion()], 66), [])

    def test_missing_finding_fails(self):
        reasons = self.check(ABBA, [], 0)
        self.assertIn("missing lock-order-inversion: expected 1, got 0", reasons)
        self.assertIn("ipcrace exited 0, expected 66", reasons)

    def test_second_inversion_is_a_wrong_count(self):
        reasons = self.check(ABBA, [inversion(), inversion()], 66)
        self.assertTrue(any(r.startswith("wrong count of lock-order-inversion") for r in reasons))

    def test_unexpected_kind_fails_a_bug_fixture(self):
        reasons = self.check(ABBA, [inversion(), misuse("data-race")], 66)
        self.assertEqual(reasons, ["unexpected findings: data-race x1"])

    def test_clean_fixture_fails_on_any_finding(self):
        reasons = self.check("// ipcrace-expect: none\n", [misuse("double-lock")], 66)
        self.assertIn("clean fixture has findings: double-lock x1", reasons)

    def test_clean_fixture_passes_with_no_findings_and_exit_zero(self):
        self.assertEqual(self.check("// ipcrace-expect: none\n", [], 0), [])

    def test_missing_function_fails(self):
        bad = inversion(functions=("lock_a_then_b", "something_else"))
        reasons = self.check(ABBA, [bad], 66)
        self.assertEqual(reasons, ["lock-order-inversion #1: function(s) not in its stacks: lock_b_then_a"])

    def test_gcc_clone_suffix_matches_function(self):
        ok = inversion(functions=("lock_a_then_b.constprop.0", "lock_b_then_a.isra.0"))
        self.assertEqual(self.check(ABBA, [ok], 66), [])

    def test_function_prefix_alone_does_not_match(self):
        bad = inversion(functions=("lock_a_then_b_helper", "lock_b_then_a"))
        self.assertNotEqual(self.check(ABBA, [bad], 66), [])

    def test_stack_without_fixture_file_fails(self):
        reasons = self.check(ABBA, [inversion(file="other.c")], 66)
        self.assertIn("lock-order-inversion #1: no stack frame in abba.c with a line > 0", reasons)

    def test_frame_with_line_zero_does_not_count(self):
        f = inversion()
        for e in f["cycle"]:
            for fr in e["stack"]:
                fr["line"] = 0
        reasons = self.check(ABBA, [f], 66)
        self.assertIn("lock-order-inversion #1: no stack frame in abba.c with a line > 0", reasons)

    def test_one_process_where_two_expected_fails(self):
        reasons = self.check(ABBA, [inversion(pids=(10, 10))], 66)
        self.assertEqual(reasons, ["lock-order-inversion #1: 1 distinct pid(s) [10], expected 2"])

    def test_two_processes_where_one_expected_fails(self):
        header = ABBA.replace("processes: 2", "processes: 1")
        reasons = self.check(header, [inversion(pids=(10, 11))], 66)
        self.assertEqual(reasons, ["lock-order-inversion #1: 2 distinct pid(s) [10, 11], expected 1"])

    def test_cycle_length_is_exact(self):
        f = inversion(pids=(10, 11, 12), functions=("lock_a_then_b", "lock_b_then_a", "x"))
        header = ABBA.replace("processes: 2", "processes: 3")
        reasons = self.check(header, [f], 66)
        self.assertEqual(reasons, ["lock-order-inversion #1: cycle of 3 edge(s), expected 2"])

    def test_misuse_functions_are_looked_up_in_accesses(self):
        header = "// ipcrace-expect: double-lock 1\n// ipcrace-expect-functions: lock_twice\n"
        self.assertEqual(self.check(header, [misuse("double-lock")], 66), [])
        self.assertNotEqual(self.check(header, [misuse("double-lock", "other")], 66), [])

    def test_count_within_a_range_passes_and_outside_fails(self):
        header = "// ipcrace-expect: double-lock 1-2\n"
        self.assertEqual(self.check(header, [misuse("double-lock")] * 2, 66), [])
        self.assertEqual(self.check(header, [misuse("double-lock")] * 3, 66),
                         ["wrong count of double-lock: expected 1-2, got 3"])
        self.assertIn("missing double-lock: expected 1-2, got 0", self.check(header, [], 0))

    def test_findings_with_exit_code_zero_fail(self):
        self.assertEqual(self.check(ABBA, [inversion()], 0), ["ipcrace exited 0, expected 66"])


class ReportFileTest(Workdir):
    def run_cli(self, report_text):
        path = os.path.join(self.dir, "r.json")
        with open(path, "w") as f:
            f.write(report_text)
        src = self.source("// ipcrace-expect: none\n")
        return quiet_main(["--source", src, "--report", path, "--exit-code", "0"])

    def test_truncated_report_fails(self):
        self.assertEqual(self.run_cli('{"schema": 1, "findings": ['), 1)

    def test_report_without_findings_list_fails(self):
        self.assertEqual(self.run_cli('{"schema": 1}'), 1)

    def test_report_of_another_schema_fails(self):
        self.assertEqual(self.run_cli('{"schema": 2, "findings": []}'), 1)

    def test_missing_report_fails(self):
        src = self.source("// ipcrace-expect: none\n")
        self.assertEqual(quiet_main(["--source", src, "--report", "/nonexistent/r.json"]), 1)

    def test_clean_report_passes(self):
        self.assertEqual(self.run_cli('{"schema": 1, "findings": [], "stats": {}}'), 0)


class FixtureSourcesTest(unittest.TestCase):
    """The real fixtures: expectations parse and name real noinline functions."""

    def sources(self):
        return sorted(os.path.join(FIXTURES, n) for n in os.listdir(FIXTURES) if n.endswith(".c"))

    def test_every_fixture_declares_expectations(self):
        self.assertTrue(self.sources())
        for src in self.sources():
            with self.subTest(fixture=os.path.basename(src)):
                cr.parse_expectations(src)

    def test_required_functions_are_defined_noinline(self):
        for src in self.sources():
            exp = cr.parse_expectations(src)
            with open(src) as f:
                text = f.read()
            # and the fixture's own headers next to it (shared by a clean fixture and its twin)
            for inc in re.findall(r'^#include "([^"/]+)"', text, re.M):
                path = os.path.join(os.path.dirname(src), inc)
                if os.path.exists(path):
                    with open(path) as f:
                        text += f.read()
            for fn in exp.functions:
                with self.subTest(fixture=os.path.basename(src), function=fn):
                    pattern = r"__attribute__\(\((?:[^)]*\b)?noinline\b[^)]*\)\)[^;{(]*\b" + fn + r"\("
                    self.assertRegex(text, pattern)

    def test_bug_fixtures_name_functions_for_their_stacks(self):
        for src in self.sources():
            exp = cr.parse_expectations(src)
            if not exp.clean:
                with self.subTest(fixture=os.path.basename(src)):
                    self.assertTrue(exp.functions)


FAKE_IPCRACE = r'''#!/usr/bin/env python3
# Stand-in for `ipcrace check --format json --output FILE -- CMD ARGS`: runs
# CMD untraced, then writes the report FAKE_MODE asks for.
import json, os, subprocess, sys, time
sys.path.insert(0, os.environ["CHECKER_DIR"])
import check_report as cr
a = sys.argv
out = a[a.index("--output") + 1]
cmd = a[a.index("--") + 1:]
mode = os.environ.get("FAKE_MODE", "perfect")
if mode == "hang":
    time.sleep(30)
if mode == "fixture-error":
    print("ipcrace-fixture-error: sem_open: Permission denied", file=sys.stderr)
if mode == "cannot-trace":
    print("ipcrace: bpf: operation not permitted", file=sys.stderr)
    sys.exit(1)
subprocess.run(cmd)
name = os.path.basename(cmd[0])
exp = cr.parse_expectations(os.path.join(os.environ["SRC_DIR"], name + ".c"))
findings = []
if mode in ("perfect", "fixture-error"):
    nproc = exp.processes or 1
    nedges = exp.cycle_length or 2
    fns = exp.functions or ["main"]
    for kind, count in exp.counts.items():
        for _ in range(count):
            parts = [{"pid": 100 + (i % nproc), "tid": 100 + i, "comm": name,
                      "lock": {}, "acquired_while_holding": {},
                      "stack": [{"function": fn, "file": "/src/" + name + ".c", "line": 7,
                                 "module": cmd[0]} for fn in fns]}
                     for i in range(max(nproc, nedges if kind == "lock-order-inversion" else 1))]
            key = "cycle" if kind == "lock-order-inversion" else "accesses"
            findings.append({"kind": kind, "summary": "fake", key: parts})
with open(out, "w") as f:
    json.dump({"schema": 1, "stats": {}, "findings": findings}, f)
sys.exit(66 if findings else 0)
'''


@unittest.skipUnless(os.geteuid() == 0, "run_fixtures.sh runs fixtures only as root")
class RunnerTest(unittest.TestCase):
    """run_fixtures.sh against a stand-in tracer, on fixtures built here."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="ipcrace-runner-test.")
        cls.build = os.path.join(cls.dir, "fixtures")
        os.mkdir(cls.build)
        cls.names = ["lock_abba_threads", "clean_lock_order", "misuse_double_lock"]
        for n in cls.names:
            subprocess.run(["cc", "-g", "-O1", "-fno-omit-frame-pointer", "-pthread",
                            "-o", os.path.join(cls.build, n), os.path.join(FIXTURES, n + ".c")],
                           check=True)
        cls.fake = os.path.join(cls.dir, "ipcrace")
        with open(cls.fake, "w") as f:
            f.write(FAKE_IPCRACE)
        os.chmod(cls.fake, 0o755)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def run_runner(self, mode, names=None, **env):
        e = dict(os.environ, FAKE_MODE=mode, CHECKER_DIR=HERE, SRC_DIR=FIXTURES,
                 IPCRACE_FIXTURES=" ".join(names or self.names), **env)
        p = subprocess.run(["bash", RUNNER, self.fake, self.build, FIXTURES], env=e,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=120)
        return p.returncode, p.stdout

    def test_correct_reports_pass_every_fixture(self):
        rc, out = self.run_runner("perfect", REPEAT="2")
        self.assertEqual(rc, 0, out)
        for n in self.names:
            self.assertIn(f"PASS {n}\n", out)
        self.assertTrue(out.endswith("3 passed, 0 failed\n"), out)

    def test_empty_reports_fail_bug_fixtures_only(self):
        rc, out = self.run_runner("empty")
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL lock_abba_threads: missing lock-order-inversion", out)
        self.assertIn("FAIL misuse_double_lock: missing double-lock", out)
        self.assertIn("PASS clean_lock_order\n", out)
        self.assertIn("\n1 passed, 2 failed\n", out)

    def test_hang_fails_after_timeout(self):
        rc, out = self.run_runner("hang", ["clean_lock_order"], IPCRACE_TIMEOUT="1")
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL clean_lock_order: timed out after 1 s", out)

    def test_tracer_failure_fails_with_its_message(self):
        rc, out = self.run_runner("cannot-trace", ["clean_lock_order"])
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL clean_lock_order: ipcrace could not trace (exit 1): "
                      "ipcrace: bpf: operation not permitted", out)

    def test_fixture_error_line_fails_even_with_a_matching_report(self):
        rc, out = self.run_runner("fixture-error", ["clean_lock_order"])
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL clean_lock_order: fixture did not run as intended: "
                      "ipcrace-fixture-error: sem_open: Permission denied", out)

    def test_unknown_fixture_name_fails(self):
        rc, out = self.run_runner("perfect", ["no_such_fixture"])
        self.assertEqual(rc, 1, out)
        self.assertIn("FAIL no_such_fixture:", out)

    def test_unprivileged_run_skips_outside_ci_and_fails_in_ci(self):
        setpriv = shutil.which("setpriv")
        if not setpriv:
            self.skipTest("setpriv not installed")
        # The unprivileged user cannot enter a clone under /root (mode 0700):
        # what it runs goes into a world-readable directory of its own, and
        # it runs there.
        shared = tempfile.mkdtemp(prefix="ipcrace-unprivileged.", dir="/tmp")
        try:
            os.chmod(shared, 0o755)
            for src in (RUNNER, os.path.join(HERE, "check_report.py")):
                dst = os.path.join(shared, os.path.basename(src))
                shutil.copyfile(src, dst)
                os.chmod(dst, 0o755)
            base = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                    "bash", os.path.join(shared, "run_fixtures.sh"), self.fake, self.build,
                    FIXTURES]
            env = {k: v for k, v in os.environ.items() if k != "CI"}
            p = subprocess.run(base, env=env, cwd=shared, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
            self.assertEqual(p.returncode, 77, p.stdout)
            self.assertIn("SKIP e2e", p.stdout)
            p = subprocess.run(base, env=dict(env, CI="true"), cwd=shared,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            self.assertEqual(p.returncode, 1, p.stdout)
            self.assertIn("e2e needs root: CI must run as root", p.stdout)
        finally:
            shutil.rmtree(shared, ignore_errors=True)


if __name__ == "__main__":
    unittest.main()
