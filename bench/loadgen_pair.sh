#!/usr/bin/env bash
# loadgen_pair.sh: two parkd builds under the Go load generator at the
# same time, both daemons pinned to one core and both generators to the
# other, so that whatever else the shared machine does costs both alike.
# Each round prints the two builds' CPU per park-then-retrieve pair and
# B's over A's; the last line is the median of those ratios. Two runs of
# one build this way differ by 1-3 %, where runs one after the other
# differ by up to 30 % (docs/PERFORMANCE.md, thirteenth pass).
#
# Usage: bench/loadgen_pair.sh ROUNDS A=BUILD B=BUILD
# where a BUILD is a parkd binary, `tree` (this checkout, built now),
# `git:REV` (that revision of this repository, built now in a scratch
# worktree) or `floor` (bench/setupfloor of this checkout: the least a
# server does for these pairs, in parkd's place).
# Environment (defaults in brackets):
#   RATE       pairs per second for each daemon [250]
#   DURATION   how long pairs are started [15s]
#   RTP        callers send RTP: true or false [false]
#   HEAD       from a park to the retrieve that follows [200ms]: longer
#              holds more calls parked at once (RATE × HEAD)
#   MINIMAL_A, MINIMAL_B  set to 1 for a build older than the sip.trusted,
#              sip.rate_limit and blf keys (e2ab7d1): its config leaves
#              them out []
#   DAEMON_CPU / GEN_CPU  the cores for taskset [0 / 1]
#   WORK       work directory, kept [mktemp]
#   JSON_OUT   also write the figures to this file as one JSON object []
#
# The builds swap places every round (ports, start order), and a round
# counts only when both completed every pair.
#
# Examples: this tree against the commit before it, and against the
# build before BLF (older than the sip.trusted key):
#   bench/loadgen_pair.sh 6 A=git:HEAD~1 B=tree
#   MINIMAL_A=1 bench/loadgen_pair.sh 6 A=git:e2ab7d1 B=tree
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
RATE=${RATE:-250} HEAD=${HEAD:-200ms}
DURATION=${DURATION:-15s}
RTP=${RTP:-false}
DAEMON_CPU=${DAEMON_CPU:-0}
GEN_CPU=${GEN_CPU:-1}
WORK=${WORK:-$(mktemp -d /tmp/parkd-pair.XXXXXX)}
mkdir -p "$WORK"

say() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 2; }
[[ $# -eq 3 && $1 =~ ^[0-9]+$ && $2 == A=* && $3 == B=* ]] || { sed -n '2,27p' "$0" >&2; exit 2; }
rounds=$1 specA=${2#A=} specB=${3#B=}
command -v taskset >/dev/null || die "taskset not found (util-linux)"
(cd "$ROOT" && go build -o "$WORK/loadgen" ./bench/loadgen) || die "go build failed"

# build NAME SPEC: the parkd binary SPEC names, building it if need be.
build() {
	local out=$WORK/parkd-$1
	case $2 in
	tree)
		(cd "$ROOT" && go build -o "$out" ./cmd/parkd) >&2 || die "go build of this tree failed"
		;;
	floor)
		(cd "$ROOT" && go build -o "$out" ./bench/setupfloor) >&2 || die "go build of bench/setupfloor failed"
		;;
	git:*)
		local rev=${2#git:} wt=$WORK/src-$1
		git -C "$ROOT" worktree add --detach -q "$wt" "$rev" >&2 || die "no revision $rev"
		(cd "$wt" && go build -o "$out" ./cmd/parkd) >&2
		local built=$?
		git -C "$ROOT" worktree remove --force "$wt"
		((built == 0)) || die "go build of $rev failed"
		;;
	*)
		[[ -x $2 ]] || die "$2 is not an executable, tree, git:REV or floor"
		out=$(realpath -- "$2") # a name without a slash would be looked up in PATH
		;;
	esac
	printf '%s' "$out"
}
binA=$(build A "$specA") || exit 2
binB=$(build B "$specB") || exit 2

# config MINIMAL RTP_PORTS API_PORT: bench/loadgen.sh's lots
# (load_config.sh), each daemon on its own ports.
source "$HERE/load_config.sh"
config() {
	load_config "$2" 5 "$1"
	echo "api: {listen: \"127.0.0.1:$3\"}"
}

ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
ratios=()
rows=()
PIDS=()
trap 'kill "${PIDS[@]}" 2>/dev/null' EXIT
for r in $(seq "$rounds"); do
	# Even rounds swap which build gets the first ports and starts first.
	names=(A B)
	bins=("$binA" "$binB")
	minimal=("${MINIMAL_A:-}" "${MINIMAL_B:-}")
	if ((r % 2 == 0)); then
		names=(B A)
		bins=("$binB" "$binA")
		minimal=("${MINIMAL_B:-}" "${MINIMAL_A:-}")
	fi
	dir="$WORK/round$r"
	mkdir -p "$dir"
	PIDS=()
	for i in 0 1; do
		n=${names[$i]}
		config "${minimal[$i]}" "$((30000 + 4000 * i))-$((33999 + 4000 * i))" "$((27081 + i))" >"$dir/$n.yaml"
		taskset -c "$DAEMON_CPU" "${bins[$i]}" serve --config "$dir/$n.yaml" --sip "udp://127.0.0.1:$((25060 + 1000 * i))" \
			--data "$dir/data-$n" --log-format text --log-level warn 2>"$dir/parkd-$n.log" &
		PIDS+=($!)
	done
	sleep 2
	for i in 0 1; do
		kill -0 "${PIDS[$i]}" 2>/dev/null || { tail -5 "$dir/parkd-${names[$i]}.log" >&2; die "parkd ${names[$i]} did not start"; }
	done
	GENS=()
	for i in 0 1; do
		taskset -c "$GEN_CPU" "$WORK/loadgen" -target "127.0.0.1:$((25060 + 1000 * i))" -rate "$RATE" -d "$DURATION" \
			-head "$HEAD" -rtp="$RTP" -pid "${PIDS[$i]}" >"$dir/loadgen-${names[$i]}.txt" 2>&1 &
		GENS+=($!)
	done
	wait "${GENS[@]}"
	kill -TERM "${PIDS[@]}" 2>/dev/null
	wait "${PIDS[@]}" 2>/dev/null
	per() { sed -n 's/.* \([0-9.]*\) ms per pair.*/\1/p' "$dir/loadgen-$1.txt"; }
	failed() { sed -n 's/.* \([0-9]*\) failed.*/\1/p' "$dir/loadgen-$1.txt"; }
	p99() { sed -n 's/^park INVITE→200:.*p99 \([0-9.]* ms\).*/\1/p' "$dir/loadgen-$1.txt"; }
	# the relayed audio's p99, when callers send RTP
	audio() { sed -n 's/^relayed RTP.*p99 \([0-9.]* ms\).*/, audio p99 \1/p' "$dir/loadgen-$1.txt"; }
	a=$(per A) b=$(per B)
	if [[ -z $a || -z $b || $(failed A) != 0 || $(failed B) != 0 ]]; then
		say "round $r: not counted (A: ${a:-?} ms, $(failed A) failed; B: ${b:-?} ms, $(failed B) failed; $dir)"
		continue
	fi
	ratio=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.3f", b / a }')
	ratios+=("$ratio")
	pa=$(p99 A) pb=$(p99 B)
	pa=${pa% ms} pb=${pb% ms}
	rows+=("{\"round\": $r, \"a_ms_per_pair\": $a, \"b_ms_per_pair\": $b, \"ratio\": $ratio, \"a_park_p99_ms\": ${pa:-null}, \"b_park_p99_ms\": ${pb:-null}}")
	printf '%s  round %d: A %s ms per pair (park p99 %s ms%s), B %s ms (p99 %s ms%s): B/A %s\n' \
		"$(date +%H:%M:%S)" "$r" "$a" "${pa:-?}" "$(audio A)" "$b" "${pb:-?}" "$(audio B)" "$ratio"
done
trap - EXIT
((${#ratios[@]} > 0)) || die "no round counted"
printf '%s\n' "${ratios[@]}" | sort -n | awk -v js="$WORK/figures.part" '{ v[NR] = $1 } END {
	m = NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
	printf "B/A over %d rounds: median %.3f, range %.3f-%.3f\n", NR, m, v[1], v[NR]
	printf "{\"rounds\": %d, \"ratio_median\": %.3f, \"ratio_min\": %.3f, \"ratio_max\": %.3f", NR, m, v[1], v[NR] > js }'
if [[ -n ${JSON_OUT:-} ]]; then
	rate=${RATE//[^0-9]/}
	(IFS=,; printf '%s, "rate": %d, "rtp": "%s", "a": "%s", "b": "%s", "per_round": [%s]}\n' \
		"$(cat "$WORK/figures.part")" "${rate:-0}" "$RTP" "$specA" "$specB" "${rows[*]}") >"$JSON_OUT"
fi
