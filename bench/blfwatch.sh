#!/usr/bin/env bash
# blfwatch.sh: BLF fan-out measured from outside the daemon. A parkd built
# from this tree runs on one core and bench/blfwatch on the other, holding
# WATCHERS dialog subscriptions to slot 701, parking a call into it and
# hanging it up CHANGES/2 times; it reports when the last watcher had each
# change's NOTIFY (kernel receive times) and the daemon's CPU per change.
#
# Environment (defaults in brackets):
#   WATCHERS   subscriptions [1000]
#   SOCKETS    UDP sockets they share (0: one each; 1: one socket with the
#              kernel's default buffer, as one sipp or a proxy) [0]
#   CHANGES    slot changes, two per parked call [120]
#   DAEMON_CPU / WATCH_CPU  the cores for taskset; empty: not pinned [0 / 1]
#   SIP_PORT   parkd's SIP port [25070]
#   JSON_OUT   also write blfwatch's report here []
#   PARKD_BIN  run this parkd binary instead of building one []
#   FLOOR      1: run bench/blffloor in parkd's place, the kernel's floor
#              for the same fan-out (no transactions, one body per change) [0]
#   FLOOR_BIN  with FLOOR=1, run this blffloor binary instead of building one []
#   WORK       work directory [mktemp]
#
# parkd logs one WARN at the end, "some final NOTIFYs were not answered in
# time": blfwatch has exited when SIGTERM makes parkd end the subscriptions.
#
# Example: WATCHERS=1000 SOCKETS=1 bench/blfwatch.sh
# The floor, then parkd, in the same minute:
#   FLOOR=1 bench/blfwatch.sh && bench/blfwatch.sh
set -uo pipefail

WATCHERS=${WATCHERS:-1000}
SOCKETS=${SOCKETS:-0}
CHANGES=${CHANGES:-120}
DAEMON_CPU=${DAEMON_CPU-0}
WATCH_CPU=${WATCH_CPU-1}
SIP_PORT=${SIP_PORT:-25070}
FLOOR=${FLOOR:-0}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/parkd-blfwatch.XXXXXX)}
mkdir -p "$WORK"

say() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 2; }
pin() { if [[ -n $1 ]]; then echo taskset -c "$1"; fi; }
[[ -z $DAEMON_CPU && -z $WATCH_CPU ]] || command -v taskset >/dev/null || die "taskset not found (util-linux)"

if [[ $FLOOR == 1 && -n ${FLOOR_BIN:-} ]]; then
	say "building blfwatch in $WORK"
	cp "$FLOOR_BIN" "$WORK/blffloor" || die "cannot copy FLOOR_BIN $FLOOR_BIN"
elif [[ $FLOOR == 1 ]]; then
	say "building blffloor and blfwatch in $WORK"
	(cd "$ROOT" && go build -o "$WORK/blffloor" ./bench/blffloor) || die "go build failed"
elif [[ -n ${PARKD_BIN:-} ]]; then
	say "building blfwatch in $WORK"
	cp "$PARKD_BIN" "$WORK/parkd" || die "cannot copy PARKD_BIN $PARKD_BIN"
else
	say "building parkd and blfwatch in $WORK"
	(cd "$ROOT" && go build -o "$WORK/parkd" ./cmd/parkd) || die "go build failed"
fi
(cd "$ROOT" && go build -o "$WORK/blfwatch" ./bench/blfwatch) || die "go build failed"

# Every watcher is 127.0.0.1: without these limits lifted its SUBSCRIBEs
# would be refused or go unanswered past the per-source defaults.
cat >"$WORK/parkd.yaml" <<YAML
rtp: {address: 127.0.0.1, ports: "40000-40999"}
sip: {rate_limit: {per_source: "0"}, max_transactions: 1000000}
blf: {max_per_source: 1000000, max_total: 1000000}
lots:
  - name: main
    extension: "700"
    slots: "701-799"
YAML

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
if [[ $FLOOR == 1 ]]; then
	$(pin "$DAEMON_CPU") "$WORK/blffloor" -listen "127.0.0.1:$SIP_PORT" 2>"$WORK/parkd.log" &
else
	$(pin "$DAEMON_CPU") "$WORK/parkd" serve --config "$WORK/parkd.yaml" --sip "udp://127.0.0.1:$SIP_PORT" \
		--data "$WORK/data" --log-format text --log-level warn 2>"$WORK/parkd.log" &
fi
PID=$!
trap 'kill $PID 2>/dev/null' EXIT
sleep 1
kill -0 $PID 2>/dev/null || { tail -20 "$WORK/parkd.log" >&2; die "the server did not start"; }

say "blfwatch: $( ((FLOOR == 1)) && echo "the floor (bench/blffloor), " )$WATCHERS watchers, $CHANGES changes (parkd on CPU ${DAEMON_CPU:-any}, watchers on CPU ${WATCH_CPU:-any})"
$(pin "$WATCH_CPU") "$WORK/blfwatch" -target "127.0.0.1:$SIP_PORT" -watchers "$WATCHERS" -sockets "$SOCKETS" \
	-changes $((CHANGES / 2)) -pid $PID ${JSON_OUT:+-json "$JSON_OUT"}
rc=$?
kill -TERM $PID
wait $PID
prc=$?
trap - EXIT
((prc == 0)) || { say "parkd exited $prc after SIGTERM"; rc=1; }
if [[ $FLOOR == 1 ]]; then
	say "$(tail -1 "$WORK/parkd.log")"
	exit $rc
fi
say "parkd log: $(grep -c ' level=ERROR ' "$WORK/parkd.log") ERROR, $(grep -c ' level=WARN ' "$WORK/parkd.log") WARN lines ($WORK/parkd.log)"
grep -oE ' level=(ERROR|WARN) msg="[^"]*"' "$WORK/parkd.log" | sort | uniq -c | sort -rn | head -5 >&2
exit $rc
