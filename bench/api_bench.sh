#!/usr/bin/env bash
# api_bench.sh: the HTTP API benchmarks of issue 9, each run RUNS times.
#
#   slots    GET /api/v1/slots with 1,000 parked calls (p99 target 5 ms)
#   fanout   a parked event to 100 SSE clients (p99 target 10 ms after the 200)
#   actions  API park/move/retrieve/hangup at 200 and 400 actions/s while
#            SIP parks run at 200 calls/s (target: no error)
#   smalllots actions=200 again with the SIP parks in ten lots of 100
#            slots instead of one of 1,000 (what BLF rendering costs)
#
# The benchmarks live in parkd/clienttest/bench_test.go: a real daemon in
# the test process, calls placed by a raw-UDP SIP client, loopback only.
# The test binary is built once. Before every run the script waits (up to
# QUIET_WAIT seconds) for the machine to be quiet, since on a shared VM a
# neighbour's build or fuzzer shows up as latency; each result line
# carries others-cpu% (what other processes used during the run) so a
# noisy run can be recognised.
#
# Environment (defaults in brackets):
#   TESTS       which benchmarks ["slots fanout actions smalllots"]
#   RUNS        runs of each [3]
#   QUIET_WAIT  seconds to wait for a quiet machine before a run [300]
#   QUIET_BUSY  quiet means at most this % of all CPUs busy over 3 s [15]
#   PROFILE     1: also write a CPU profile of the first run of each
#   WORK        directory for the binary, outputs, profiles [mktemp]
#
# Prints every result line and a path to the full outputs; exits 1 when a
# benchmark failed.
set -uo pipefail

TESTS=${TESTS:-"slots fanout actions smalllots"}
RUNS=${RUNS:-3}
QUIET_WAIT=${QUIET_WAIT:-300}
QUIET_BUSY=${QUIET_BUSY:-15}
PROFILE=${PROFILE:-0}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/parkd-api-bench.XXXXXX)}
mkdir -p "$WORK"

say() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

# busy_pct: % of all CPUs busy over the next 3 s (/proc/stat).
busy_pct() {
	local a b
	a=$(awk '/^cpu / { print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat)
	sleep 3
	b=$(awk '/^cpu / { print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2]; printf "%d", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }'
}

wait_quiet() {
	local deadline=$((SECONDS + QUIET_WAIT)) busy
	while :; do
		busy=$(busy_pct)
		((busy <= QUIET_BUSY)) && { say "machine quiet (${busy}% busy)"; return; }
		((SECONDS >= deadline)) && { say "machine still ${busy}% busy after ${QUIET_WAIT}s: running anyway"; return; }
		say "machine ${busy}% busy; waiting for it to quiet down"
		sleep 5
	done
}

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
say "building the test binary"
(cd "$ROOT" && go test -c -o "$WORK/clienttest.test" ./parkd/clienttest/) || exit 2

declare -A BENCH=(
	[slots]="-test.bench ^BenchmarkAPISlots1000$ -test.benchtime 2000x"
	[fanout]="-test.bench ^BenchmarkAPIEventFanout$ -test.benchtime 200x"
	[actions]="-test.bench ^BenchmarkAPIActionsUnderSIPLoad$ -test.benchtime 1x"
	[smalllots]="-test.bench ^BenchmarkAPIActionsUnderSIPLoadSmallLots$ -test.benchtime 1x"
)
FAILED=0
for t in $TESTS; do
	[[ -n ${BENCH[$t]:-} ]] || { say "unknown test '$t' (slots, fanout, actions, smalllots)"; exit 2; }
	for run in $(seq "$RUNS"); do
		wait_quiet
		out="$WORK/$t.$run.txt"
		prof=()
		[[ $PROFILE == 1 && $run == 1 ]] && prof=(-test.cpuprofile "$WORK/$t.cpu")
		say "$t run $run of $RUNS"
		# shellcheck disable=SC2086
		(cd "$ROOT/parkd/clienttest" && timeout 300 "$WORK/clienttest.test" -test.run '^$' ${BENCH[$t]} "${prof[@]}") >"$out" 2>&1
		rc=$?
		grep -E '^Benchmark|^\s+bench_test.go|FAIL' "$out"
		((rc == 0)) || { say "$t run $run failed (exit $rc): $out"; FAILED=1; }
	done
done
say "outputs: $WORK"
[[ $PROFILE == 1 ]] && say "profiles: go tool pprof -top $WORK/clienttest.test $WORK/<test>.cpu"
exit $FAILED
