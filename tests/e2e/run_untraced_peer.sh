#!/usr/bin/env bash
# Unix-socket calls whose peer is not traced (bpf/chan_identity.bpf.h,
# unix_peer_untraced): `ipcrace record -p` attached to a server shaped like
# PostgreSQL (tests/e2e/unix_peer.c: it accepts, forks a handler, and the
# handler asks the server over a socketpair for every message of a client
# that ipcrace does not trace). Expected, with both sys_enter variants
# (direct loads and IPCRACE_NO_DIRECT_LOADS=1):
# - the handler's sends and receives on the client's socket are counted
#   (-v: "N Unix-socket calls with an untraced peer not recorded", N = 2 a
#   message) and absent from the dump, the analyze report's trailer says so;
# - the socketpair's, whose peer is traced, are all recorded (a send and a
#   receive each way a message).
# IPCRACE_RECORD_UNTRACED_PEERS=1: nothing counted, every call recorded (3
# sends and 3 receives a message).
# Usage: run_untraced_peer.sh IPCRACE_BIN UNIX_PEER_BIN
set -uo pipefail
ipcrace=$1
peer=$2
rounds=40
if [ "$(id -u)" -ne 0 ]; then
	if [ -n "${CI:-}" ]; then echo "FAIL untraced_peer: e2e needs root: CI must run as root"; exit 1; fi
	echo "SKIP untraced_peer: needs root"; exit 77
fi
tmp=$(mktemp -d)
svc=
trap 'rm -rf "$tmp"; [ -n "$svc" ] && kill "$svc" 2>/dev/null' EXIT
passed=0 failed=0
pass() { echo "PASS $1"; passed=$((passed + 1)); }
fail() { echo "FAIL $1: $2"; failed=$((failed + 1)); }

# one_run NAME ENV...: serve, attach, drive from an untraced client; sets
# skipped, sends, recvs (socket sends/receives in the dump), leaves $tmp/NAME.*
one_run() {
	local name=$1 sock=$tmp/$1.sock
	shift
	skipped=-1 sends=-1 recvs=-1
	"$peer" serve "$sock" >"$tmp/$name.out" &
	svc=$!
	for _ in $(seq 50); do grep -q ready "$tmp/$name.out" && break; sleep 0.1; done
	env "$@" timeout 60 "$ipcrace" record -v -p "$svc" -o "$tmp/$name.trace" \
		2>"$tmp/$name.err" &
	local rec=$!
	for _ in $(seq 300); do grep -q "attached to" "$tmp/$name.err" && break; sleep 0.1; done
	if ! "$peer" client "$sock" "$rounds"; then
		fail "$name" "the client failed"
	fi
	wait "$svc"
	svc=
	if ! wait "$rec"; then
		fail "$name" "ipcrace record failed: $(tail -3 "$tmp/$name.err")"
		return
	fi
	skipped=$(sed -n 's/^ipcrace: \([0-9]*\) Unix-socket calls with an untraced peer not recorded$/\1/p' \
		"$tmp/$name.err" | tail -1)
	"$ipcrace" dump "$tmp/$name.trace" >"$tmp/$name.dump" 2>>"$tmp/$name.err"
	sends=$(grep -c ' send socket unix ' "$tmp/$name.dump")
	recvs=$(grep -c ' recv socket unix ' "$tmp/$name.dump")
	"$ipcrace" analyze "$tmp/$name.trace" >"$tmp/$name.report" 2>>"$tmp/$name.err"
}

for variant in direct probe; do
	envs=()
	[ "$variant" = probe ] && envs=(IPCRACE_NO_DIRECT_LOADS=1)
	one_run "skip_$variant" "${envs[@]}"
	if [ "$skipped" != $((2 * rounds)) ]; then
		fail "untraced_peer_counted_$variant" "$skipped counted, expected $((2 * rounds)) ($(tail -2 "$tmp/skip_$variant.err"))"
	elif [ "$sends" != $((2 * rounds)) ] || [ "$recvs" != $((2 * rounds)) ]; then
		fail "untraced_peer_counted_$variant" "$sends sends, $recvs receives recorded, expected $((2 * rounds)) each (the socketpair's)"
	elif ! grep -q "^ipcrace: $skipped Unix-socket calls with an untraced peer not recorded" \
		"$tmp/skip_$variant.report"; then
		fail "untraced_peer_counted_$variant" "the report does not say so: $(tail -3 "$tmp/skip_$variant.report")"
	else
		pass "untraced_peer_counted_$variant"
	fi
done

one_run record_all IPCRACE_RECORD_UNTRACED_PEERS=1
if [ "$skipped" != 0 ] || [ "$sends" != $((3 * rounds)) ] || [ "$recvs" != $((3 * rounds)) ]; then
	fail untraced_peer_recorded_when_asked "$skipped counted, $sends sends, $recvs receives; expected 0, $((3 * rounds)), $((3 * rounds))"
else
	pass untraced_peer_recorded_when_asked
fi

echo "untraced_peer: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
