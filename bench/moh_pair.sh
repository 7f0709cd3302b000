#!/usr/bin/env bash
# moh_pair.sh: parkd's music on hold and the kernel's floor (bench/moh)
# measured at the same moments, in two processes started together, so
# that whatever else the shared machine does costs both alike; the
# alternating windows of `bench/moh -mode both` differ from sitting to
# sitting by more than the 1.1 target leaves (docs/PERFORMANCE.md).
# Prints each window pair's parkd/floor CPU ratio and their median.
#
# Environment (defaults in brackets):
#   N      callers [2000]
#   D      window [15s]
#   REPS   windows [4]
#   WORK   work directory, kept [mktemp]
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
N=${N:-2000} D=${D:-15s} REPS=${REPS:-4}
WORK=${WORK:-$(mktemp -d /tmp/parkd-mohpair.XXXXXX)}
say() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 2; }
(cd "$ROOT" && go build -o "$WORK/moh" ./bench/moh) || die "go build failed"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# Both set up their callers first; the windows start together after.
start=$(($(date +%s%3N) + 10000))
"$WORK/moh" -mode floor -n "$N" -d "$D" -reps "$REPS" -start-at "$start" >"$WORK/floor.txt" 2>&1 &
F=$!
"$WORK/moh" -mode parkd -n "$N" -d "$D" -reps "$REPS" -start-at "$start" >"$WORK/parkd.txt" 2>&1 &
P=$!
wait $F || { tail -3 "$WORK/floor.txt" >&2; die "the floor run failed"; }
wait $P || { tail -3 "$WORK/parkd.txt" >&2; die "the parkd run failed"; }

# cpu MODE: each window of MODE's run as "window CPU% jitter-p99".
cpu() { sed -n "s/^rep \([0-9]*\) $1 .*CPU *\([0-9.]*\) %.*jitter p50 [0-9.]* p99 \([0-9.]*\).*/\1 \2 \3/p" "$WORK/$1.txt"; }
join <(cpu floor) <(cpu parkd) | awk -v out="$WORK/ratios" '
	{ printf "window %d: floor %.1f %%, parkd %.1f %% of a core: ratio %.3f (jitter p99 floor %s ms, parkd %s ms)\n", $1, $2, $4, $4 / $2, $3, $5
	  printf "%.3f\n", $4 / $2 > out }'
[[ -s $WORK/ratios ]] || die "no window measured ($WORK)"
sort -n "$WORK/ratios" | awk -v n="$N" '{ v[NR] = $1 } END {
	m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	printf "%d callers, %d windows at the same moments: parkd/floor median %.3f, range %.3f-%.3f\n", n, NR, m, v[1], v[NR] }'
