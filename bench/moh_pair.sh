#!/usr/bin/env bash
# moh_pair.sh: two music-on-hold runs of bench/moh (or, with TOOL=relay,
# two relay runs of bench/relay) measured at the same moments, in two
# processes started together, so that whatever else the shared machine
# does costs both alike; the alternating windows of `-mode both` differ
# from sitting to sitting by more than the 1.1 target leaves
# (docs/PERFORMANCE.md). By default A is the kernel's floor and B parkd,
# built from this tree; to compare two builds, run parkd on both sides
# and give one side a binary built from the other revision. Prints each
# window's B/A CPU ratio and their median.
#
# Environment (defaults in brackets):
#   TOOL    moh or relay [moh]
#   N       callers, or bridged calls for relay [2000; relay 300: two
#           relays of 500 calls fill the core they share]
#   D       window [15s; relay 10s]
#   REPS    windows [4]
#   A, B    MODE or MODE=BINARY: a -mode other than both (bench/moh:
#           floor, parkd, gofloor, sendto-floor, epoll-floor, uring-floor;
#           bench/relay: floor, parkd), and the binary of TOOL to run it
#           with [floor and parkd, this tree's]
#   WORK    work directory, kept [mktemp]
#   JSON_OUT  also write the figures to this file as one JSON object []
#
# Examples: this tree's music against the commit before it, and the
# relay against its floor:
#   git worktree add /tmp/prev HEAD~1 && (cd /tmp/prev && go build -o /tmp/moh-prev ./bench/moh)
#   A=parkd=/tmp/moh-prev B=parkd bench/moh_pair.sh
#   TOOL=relay bench/moh_pair.sh
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
TOOL=${TOOL:-moh}
case $TOOL in
moh) N=${N:-2000} D=${D:-15s} modes='floor|parkd|gofloor|sendto-floor|epoll-floor|uring-floor' what=callers per=1 ;;
relay) N=${N:-300} D=${D:-10s} modes='floor|parkd' what=calls per=2 ;; # two relay sockets a call
*) printf 'TOOL=%s: moh or relay\n' "$TOOL" >&2; exit 2 ;;
esac
REPS=${REPS:-4} A=${A:-floor} B=${B:-parkd}
WORK=${WORK:-$(mktemp -d /tmp/parkd-mohpair.XXXXXX)}
say() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 2; }
(cd "$ROOT" && go build -o "$WORK/$TOOL" "./bench/$TOOL") || die "go build failed"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

mode_a=${A%%=*} mode_b=${B%%=*}
for m in "$mode_a" "$mode_b"; do
	# -mode both prints two lines per window, which cannot be paired.
	[[ $m =~ ^($modes)$ ]] || die "mode $m: not a single bench/$TOOL -mode"
done
bin_a=$WORK/$TOOL bin_b=$WORK/$TOOL
if [[ $A == *=* ]]; then bin_a=$(realpath -- "${A#*=}") || die "A=$A: no such file"; fi
if [[ $B == *=* ]]; then bin_b=$(realpath -- "${B#*=}") || die "B=$B: no such file"; fi
[[ -x $bin_a && -x $bin_b ]] || die "A=$A, B=$B: not an executable bench/$TOOL"

# parkd takes an even port per socket below the receivers' ephemeral
# range (32768 and up); the floors take ephemeral ports, so only two
# parkd runs split the room.
ports_a=10000-31999 ports_b=10000-31999
if [[ $mode_a == parkd && $mode_b == parkd ]]; then
	ports_a=10000-20999 ports_b=21000-31999
	((2 * per * N <= 11000)) || die "two runs of $N $what need $((2 * per * N)) ports each; at most $((5500 / per)) $what"
fi

# Both set up their callers first; the windows start together after.
# Each side runs in a process group of its own (bench/relay re-runs
# itself under taskset), so a side that failed can be stopped whole.
set -m
start=$(($(date +%s%3N) + 10000))
"$bin_a" -mode "$mode_a" -n "$N" -d "$D" -reps "$REPS" -rtp-ports "$ports_a" -start-at "$start" >"$WORK/a.txt" 2>&1 &
PA=$!
"$bin_b" -mode "$mode_b" -n "$N" -d "$D" -reps "$REPS" -rtp-ports "$ports_b" -start-at "$start" >"$WORK/b.txt" 2>&1 &
PB=$!
trap 'kill -- -$PA -$PB 2>/dev/null' EXIT
# A side that exits 1 after measuring every window (bench/relay: a
# sampled phone got under 49 packets/s) still has figures, which are
# paired; the script then exits 1 too. Any other failure stops both.
declare -A exits=() side_of=([$PA]=a [$PB]=b)
while ((${#exits[@]} < 2)); do
	pending=()
	for p in $PA $PB; do [[ -v exits[${side_of[$p]}] ]] || pending+=("$p"); done
	wait -n -p done "${pending[@]}"
	st=$?
	side=${side_of[$done]}
	exits[$side]=$st
	((st == 0)) && continue
	got=$(grep -c "^rep " "$WORK/$side.txt")
	if ((st != 1 || got < REPS)); then
		tail -3 "$WORK/$side.txt" >&2
		die "${side^^} failed (exit $st, $got of $REPS windows)"
	fi
	say "${side^^} exited 1 after its windows: $(tail -1 "$WORK/$side.txt")"
done
trap - EXIT
set +m
exit_a=${exits[a]} exit_b=${exits[b]}

# cpu FILE: each window of a run as "window CPU% jitter-p99".
cpu() { sed -n "s/^rep \([0-9]*\) [a-z-]* .*CPU *\([0-9.]*\) %.*jitter p50 [0-9.]* p99 \([0-9.]*\).*/\1 \2 \3/p" "$1"; }
join <(cpu "$WORK/a.txt") <(cpu "$WORK/b.txt") | awk -v a="$mode_a" -v b="$mode_b" -v out="$WORK/ratios" '
	$2 == 0 { printf "window %d: A measured no CPU; left out\n", $1; next }
	{ printf "window %d: A (%s) %.1f %%, B (%s) %.1f %% of a core: B/A %.3f (jitter p99 A %s ms, B %s ms)\n", $1, a, $2, b, $4, $4 / $2, $3, $5
	  printf "%.3f\n", $4 / $2 > out }'
[[ -s $WORK/ratios ]] || die "no window measured ($WORK)"
sort -n "$WORK/ratios" | awk -v n="$N" -v what="$what" -v tool="$TOOL" -v js="$WORK/figures.part" '{ v[NR] = $1 } END {
	m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	printf "%d %s, %d windows at the same moments: B/A median %.3f, range %.3f-%.3f\n", n, what, NR, m, v[1], v[NR]
	printf "{\"tool\": \"%s\", \"%s\": %d, \"windows\": %d, \"ratio_median\": %.3f, \"ratio_min\": %.3f, \"ratio_max\": %.3f", tool, what, n, NR, m, v[1], v[NR] > js }'
if [[ -n ${JSON_OUT:-} ]]; then
	# Each side's windows, for the reader who wants the CPU behind a ratio.
	windows() { cpu "$1" | awk '{ printf "%s{\"cpu_percent\": %s, \"jitter_p99_ms\": %s}", (NR > 1 ? ", " : ""), $2, $3 }'; }
	printf '%s, "a": {"mode": "%s", "exit": %d, "windows": [%s]}, "b": {"mode": "%s", "exit": %d, "windows": [%s]}}\n' \
		"$(cat "$WORK/figures.part")" "$mode_a" "$exit_a" "$(windows "$WORK/a.txt")" "$mode_b" "$exit_b" "$(windows "$WORK/b.txt")" >"$JSON_OUT"
fi
((exit_a == 0 && exit_b == 0)) || exit 1
