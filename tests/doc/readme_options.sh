#!/usr/bin/env bash
# The README's option table is `ipcrace help --markdown`, between its BEGIN
# and END markers: this fails (with the diff) when they differ, so the
# README cannot drift from the option table in tracer/cli.c. --update
# rewrites the block instead.
# Usage: readme_options.sh IPCRACE_BIN README [--update]
set -euo pipefail
ipcrace=$1
readme=$2
begin='<!-- BEGIN ipcrace help --markdown -->'
end='<!-- END ipcrace help --markdown -->'
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

"$ipcrace" help --markdown >"$tmp/table"
[ -s "$tmp/table" ] || { echo "FAIL: ipcrace help --markdown printed nothing"; exit 1; }
[ "$(grep -cxF -- "$begin" "$readme")" -eq 1 ] && [ "$(grep -cxF -- "$end" "$readme")" -eq 1 ] ||
	{ echo "FAIL: $readme needs one '$begin' line and one '$end' line"; exit 1; }
awk -v b="$begin" -v e="$end" '$0 == e { inside = 0 } inside { print } $0 == b { inside = 1 }' \
	"$readme" >"$tmp/block"
if [ "${3:-}" = --update ]; then
	awk -v b="$begin" -v e="$end" -v t="$tmp/table" '
		$0 == b { print; while ((getline line < t) > 0) print line; skip = 1; next }
		$0 == e { skip = 0 }
		!skip { print }' "$readme" >"$tmp/readme"
	cat "$tmp/readme" >"$readme"
	echo "updated the option table in $readme"
	exit 0
fi
if diff -u "$tmp/block" "$tmp/table" >"$tmp/diff"; then
	echo "PASS readme option table is ipcrace help --markdown"
else
	echo "FAIL: the option table in $readme differs from ipcrace help --markdown:"
	cat "$tmp/diff"
	echo "run: $0 $ipcrace $readme --update"
	exit 1
fi
