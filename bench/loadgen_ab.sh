#!/usr/bin/env bash
# loadgen_ab.sh: builds of parkd under bench/loadgen.sh at its full rate,
# one at a time, alternated round by round in one sitting, one summary
# line per run. loadgen_pair.sh runs two builds at the same moments at
# half the rate each; this runs each alone at the rate of issue 14's
# target (1,000 pairs/s), where only alternation makes two builds'
# latencies comparable on a shared machine.
#
# Usage: bench/loadgen_ab.sh ROUNDS NAME=BINARY...
# Environment: what loadgen.sh takes (RATE, DURATION, RTP, ...); RATE
# defaults to 1000 and DURATION to 20s here. Each run's full output stays
# in WORK.
#
# Example, this tree against an older build:
#   go build -o /tmp/new ./cmd/parkd
#   bench/loadgen_ab.sh 3 old=/tmp/old new=/tmp/new
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${WORK:-$(mktemp -d /tmp/parkd-loadgen-ab.XXXXXX)}
mkdir -p "$WORK"
export RATE=${RATE:-1000} DURATION=${DURATION:-20s}
[[ $# -ge 2 && $1 =~ ^[0-9]+$ ]] || { sed -n '2,16p' "$0" >&2; exit 2; }
rounds=$1
shift
printf '%-8s %-3s %-10s %s\n' time run build "park INVITE→200 | retrieve INVITE→200 | daemon CPU | pairs"
for r in $(seq "$rounds"); do
	for spec in "$@"; do
		name=${spec%%=*} bin=${spec#*=}
		out="$WORK/$name-$r.out"
		env PARKD_BIN="$bin" WORK="$WORK/$name" bash "$HERE/loadgen.sh" >"$out" 2>&1
		park=$(sed -n 's/^park INVITE→200: //p' "$out")
		retrieve=$(sed -n 's/^retrieve INVITE→200: .*\(p99 [0-9.]* ms\).*/\1/p' "$out")
		cpu=$(sed -n 's/^daemon CPU: .*, \(.* per pair\)/\1/p' "$out")
		pairs=$(sed -n 's/^pairs: .*: \([0-9]* completed, [0-9]* failed\).*/\1/p' "$out")
		[[ -n $park ]] || park="failed: see $out"
		printf '%-8s r%-2s %-10s %s | %s | %s | %s\n' "$(date +%H:%M:%S)" "$r" "$name" "$park" "$retrieve" "$cpu" "$pairs"
	done
done
