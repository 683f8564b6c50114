#!/usr/bin/env bash
# Installs the Debian 12 packages ipcrace needs to build and test, when some
# are missing. Needs root (apt-get); does nothing when all are present.
set -euo pipefail

packages=(
	clang llvm libclang-rt-14-dev cmake make gcc g++ pkg-config
	libbpf-dev bpftool libelf-dev libdw-dev zlib1g-dev
	libcapstone-dev libcmocka-dev python3
	valgrind strace libunwind-dev libdebuginfod-dev
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
	exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]} (run as root to install them)" >&2
	exit 1
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
