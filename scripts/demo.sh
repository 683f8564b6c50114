#!/usr/bin/env bash
# The main job: install what is missing, build, and run `ipcrace check` on a
# fixture with a real bug (two processes taking two process-shared mutexes in
# opposite orders). Prints the report; exits 66 because it finds the bug.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
set +e
./build/ipcrace check -- ./build/fixtures/lock_abba_processes
status=$?
set -e
echo "ipcrace exit status: $status (66 = findings)"
[ "$status" -eq 66 ]
