#!/usr/bin/env bash
# loadgen.sh: park-then-retrieve load on a parkd built from this tree, with
# bench/loadgen (SIP over UDP, RTP at 50 packets/s per call).
#
# parkd runs pinned to core PARKD_CPU, the generator to core GEN_CPU
# (taskset), so the generator's cost does not count against parkd and the
# daemon's CPU per call is read from /proc/PID/stat (loadgen -pid).
# Config for load: 127.0.0.1 trusted, the per-source rate limit off, the
# transaction cap out of the way, LOTS lots of 1,000 slots, rtp.timeout 0.
#
# Environment (defaults in brackets):
#   RATE      pairs per second [1000]
#   DUR       how long pairs are started [20s]
#   HOLD      how long the retriever talks before BYE [1s]
#   HEAD      park's 200 → retrieve INVITE [50ms]
#   LOTS      lots of 1,000 slots, overflowing into each other [2]
#   RTP       send RTP from every call: true or false [true]
#   PARKD_CPU / GEN_CPU  cores for taskset [0 / 1]
#   SIP_PORT  parkd's SIP UDP port [15160]
#   JSON      1: print the summary as JSON (for a harness) [0]
#   WORK      directory for the binary, config and log [mktemp]
#   EXTRA     extra loadgen flags []
#   PARKD_BIN a parkd binary to run instead of building this tree's
#             (to compare with another commit in the same session) []
#   PIN       0: run both unpinned (a shared machine whose core PARKD_CPU
#             is busy with other work) [1]
#
# Exit status: loadgen's (0 when every pair completed), 2 on a setup problem.
set -uo pipefail
RATE=${RATE:-1000} DUR=${DUR:-20s} HOLD=${HOLD:-1s} HEAD=${HEAD:-50ms} LOTS=${LOTS:-2}
RTP=${RTP:-true} PARKD_CPU=${PARKD_CPU:-0} GEN_CPU=${GEN_CPU:-1} SIP_PORT=${SIP_PORT:-15160}
JSON=${JSON:-0} EXTRA=${EXTRA:-} PARKD_BIN=${PARKD_BIN:-} PIN=${PIN:-1}
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/parkd-loadgen.XXXXXX)}
mkdir -p "$WORK"
say() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 2; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

say "building parkd and loadgen in $WORK"
(cd "$ROOT" && go build -o "$WORK/loadgen" ./bench/loadgen) || die "go build failed"
if [[ -n $PARKD_BIN ]]; then
	cp "$PARKD_BIN" "$WORK/parkd" || die "no parkd at $PARKD_BIN"
else
	(cd "$ROOT" && go build -o "$WORK/parkd" ./cmd/parkd) || die "go build failed"
fi
pin_parkd=() pin_gen=()
((PIN)) && pin_parkd=(taskset -c "$PARKD_CPU") pin_gen=(taskset -c "$GEN_CPU")
{
	echo 'rtp: {address: 127.0.0.1, ports: "20000-39999", timeout: 0s}'
	echo 'sip: {trusted: [127.0.0.1], rate_limit: {per_source: "0", burst: 400}, max_transactions: 1000000}'
	echo 'lots:'
	for ((i = 0; i < LOTS; i++)); do
		name=lot$i ext=70$i
		((i == 0)) && name=main ext=700
		echo "  - name: $name"
		echo "    extension: \"$ext\""
		((i == 0)) && echo '    retrieve_extension: "*700"'
		echo "    slots: \"$((10000 + 1000 * i))-$((10999 + 1000 * i))\""
		((i + 1 < LOTS)) && echo "    when_full: overflow:lot$((i + 1))"
	done
} >"$WORK/parkd.yaml"

# taskset execs parkd: $! is parkd's pid, for -pid and SIGTERM.
"${pin_parkd[@]}" "$WORK/parkd" serve --headless --config "$WORK/parkd.yaml" \
	--sip "udp://127.0.0.1:$SIP_PORT" --api 127.0.0.1:0 --data "$WORK/data" \
	--log-format text --log-level warn 2>"$WORK/parkd.log" &
PID=$!
stop_parkd() {
	kill -TERM $PID 2>/dev/null
	for _ in $(seq 100); do kill -0 $PID 2>/dev/null || break; sleep 0.1; done
	kill -0 $PID 2>/dev/null && { say "parkd still up 10 s after SIGTERM: killed"; kill -KILL $PID; }
	wait $PID 2>/dev/null
}
trap stop_parkd EXIT
for _ in $(seq 100); do
	ss -Hlun "sport = :$SIP_PORT" 2>/dev/null | grep -q . && break
	kill -0 $PID 2>/dev/null || die "parkd exited: $(tail -5 "$WORK/parkd.log")"
	sleep 0.1
done
sleep 1
say "parkd pid $PID on core $PARKD_CPU; loadgen on core $GEN_CPU: $RATE pairs/s for $DUR, hold $HOLD"
json=()
((JSON)) && json=(-json)
# shellcheck disable=SC2086
"${pin_gen[@]}" "$WORK/loadgen" -target "127.0.0.1:$SIP_PORT" -rate "$RATE" -d "$DUR" \
	-hold "$HOLD" -head "$HEAD" -rtp="$RTP" -pid "$PID" "${json[@]}" $EXTRA
rc=$?
warn=$(grep -c 'level=WARN\|level=ERROR' "$WORK/parkd.log")
say "parkd log: $warn WARN/ERROR lines ($WORK/parkd.log)"
exit $rc
