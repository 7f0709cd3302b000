#!/usr/bin/env bash
# loadgen.sh: park-then-retrieve pairs at RATE/s against a parkd built from
# this tree, the daemon pinned to one core and the Go load generator
# (bench/loadgen) to the other, so each has a core of its own and the
# daemon's CPU per call is its own. Every call sends RTP at 50 packets/s.
#
# Environment (defaults in brackets):
#   RATE       pairs per second [1000]
#   DURATION   how long pairs are started [20s]
#   HOLD       how long a retriever talks [500ms]
#   HEAD       from a park to the retrieve that follows [200ms]
#   RTP        callers send RTP: true, or false for signalling alone [true]
#   SUBS       BLF watchers of SUBS_TO present during the run (sipp) [0]
#   SUBS_TO    what they watch [10000]
#   DAEMON_CPU / GEN_CPU  the cores for taskset [0 / 1]
#   SIP_PORT   parkd's SIP port [25060]
#   RTP_PORTS  parkd's RTP port range [30000-37999]: 4,000 ports, three
#              times what 1,000 pairs/s hold at once, and within the
#              quarter of a 20,000-descriptor limit that parkd keeps
#              sockets for between calls
#   JSON_OUT   also write the generator's report here []
#   SAMPLES_OUT  also write every INVITE→200 latency, with when it was sent []
#   PARKD_BIN  run this parkd binary instead of building one (to compare
#              builds of other commits in one sitting) []
#   FLOOR      1: run bench/setupfloor, the least a server does for these
#              pairs in one thread, in parkd's place (its floor; PARKD_BIN
#              is then ignored) []
#   WORK       work directory [mktemp]
#
# Example: RATE=500 DURATION=10s bench/loadgen.sh
set -uo pipefail

RATE=${RATE:-1000}
DURATION=${DURATION:-20s}
HOLD=${HOLD:-500ms}
HEAD=${HEAD:-200ms}
RTP=${RTP:-true}
SUBS=${SUBS:-0}
SUBS_TO=${SUBS_TO:-10000}
DAEMON_CPU=${DAEMON_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
SIP_PORT=${SIP_PORT:-25060}
RTP_PORTS=${RTP_PORTS:-30000-37999}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/parkd-loadgen.XXXXXX)}
mkdir -p "$WORK"

say() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 2; }
command -v taskset >/dev/null || die "taskset not found (util-linux)"
((SUBS == 0)) || command -v sipp >/dev/null || die "SUBS needs sipp: apt-get install sip-tester"

say "building parkd and the load generator in $WORK"
if [[ ${FLOOR:-} == 1 ]]; then
	(cd "$ROOT" && go build -o "$WORK/parkd" ./bench/setupfloor) || die "go build failed"
elif [[ -n ${PARKD_BIN:-} ]]; then
	cp "$PARKD_BIN" "$WORK/parkd" || die "cannot copy PARKD_BIN $PARKD_BIN"
else
	(cd "$ROOT" && go build -o "$WORK/parkd" ./cmd/parkd) || die "go build failed"
fi
(cd "$ROOT" && go build -o "$WORK/loadgen" ./bench/loadgen) || die "go build failed"

# Five lots of 1,000 slots, one PBX (load_config.sh).
source "$HERE/load_config.sh"
load_config "$RTP_PORTS" 5 >"$WORK/parkd.yaml"

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
taskset -c "$DAEMON_CPU" "$WORK/parkd" serve --config "$WORK/parkd.yaml" --sip "udp://127.0.0.1:$SIP_PORT" \
	--data "$WORK/data" --log-format text --log-level warn 2>"$WORK/parkd.log" &
PID=$!
trap 'kill $PID 2>/dev/null; [[ -n ${WATCH:-} ]] && kill $WATCH 2>/dev/null' EXIT
for _ in $(seq 100); do
	"$WORK/parkd" --version >/dev/null 2>&1 && grep -q . /proc/$PID/status 2>/dev/null && sleep 0.3 && break
done
sleep 1
kill -0 $PID 2>/dev/null || { tail -20 "$WORK/parkd.log" >&2; die "parkd did not start"; }

if ((SUBS > 0)); then
	(cd "$WORK" && taskset -c "$GEN_CPU" sipp -sf "$HERE/uac_subscribe_watch.xml" -s "$SUBS_TO" -t u1 -i 127.0.0.1 \
		-p $((SIP_PORT + 10)) -nostdin -r 500 -m "$SUBS" -l "$SUBS" "127.0.0.1:$SIP_PORT" >/dev/null 2>&1) &
	WATCH=$!
	sleep $((SUBS / 500 + 2))
	say "$SUBS BLF watchers of $SUBS_TO subscribed"
fi

say "loadgen: $RATE pairs/s for $DURATION (parkd on CPU $DAEMON_CPU, generator on CPU $GEN_CPU)"
taskset -c "$GEN_CPU" "$WORK/loadgen" -target "127.0.0.1:$SIP_PORT" -rate "$RATE" -d "$DURATION" \
	-hold "$HOLD" -head "$HEAD" -rtp="$RTP" -pid $PID ${JSON_OUT:+-json "$JSON_OUT"} ${SAMPLES_OUT:+-samples "$SAMPLES_OUT"}
rc=$?
kill -TERM $PID
wait $PID
prc=$?
trap - EXIT
[[ -n ${WATCH:-} ]] && { pkill -P "$WATCH" 2>/dev/null; wait "$WATCH" 2>/dev/null; }
((prc == 0)) || { say "parkd exited $prc after SIGTERM"; rc=1; }
say "parkd log: $(grep -c ' level=ERROR ' "$WORK/parkd.log") ERROR, $(grep -c ' level=WARN ' "$WORK/parkd.log") WARN lines ($WORK/parkd.log)"
grep -oE ' level=(ERROR|WARN) msg="[^"]*"' "$WORK/parkd.log" | sort | uniq -c | sort -rn | head -5 >&2
exit $rc
