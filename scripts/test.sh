#!/usr/bin/env bash
# Every test: install what is missing, build, run unit tests (cmocka) and the
# end-to-end fixture runs under the real tracer (root and BPF needed; in CI a
# missing capability fails, never skips).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh
cd build
ctest --output-on-failure --timeout 900
