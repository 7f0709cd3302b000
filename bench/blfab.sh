#!/usr/bin/env bash
# blfab.sh: builds of parkd (and the floor) under bench/blfwatch.sh,
# alternated round by round in one sitting, one summary line per run. On
# a shared machine only figures taken this way compare.
#
# Usage: bench/blfab.sh ROUNDS NAME=BINARY... [NAME=floor | NAME=floor:BINARY]
#   NAME=BINARY        a parkd binary (PARKD_BIN)
#   NAME=floor         bench/blffloor built from this tree
#   NAME=floor:BINARY  a blffloor binary (FLOOR_BIN)
# Environment: what blfwatch.sh takes (CHANGES, WATCHERS, SOCKETS, ...);
# CHANGES defaults to 200 here. Each run's full output stays in WORK.
#
# Example, this tree against an older build and the floor:
#   go build -o /tmp/new ./cmd/parkd
#   bench/blfab.sh 3 old=/tmp/old new=/tmp/new floor=floor
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${WORK:-$(mktemp -d /tmp/parkd-blfab.XXXXXX)}
mkdir -p "$WORK"
export CHANGES=${CHANGES:-200}
[[ $# -ge 2 && $1 =~ ^[0-9]+$ ]] || { sed -n '2,16p' "$0" >&2; exit 2; }
rounds=$1
shift
printf '%-8s %-3s %-10s %s\n' time run build "last NOTIFY after the INVITE | first NOTIFY p50 | daemon CPU"
for r in $(seq "$rounds"); do
	for spec in "$@"; do
		name=${spec%%=*} bin=${spec#*=}
		out="$WORK/$name-$r.out"
		case $bin in
		floor) env FLOOR=1 WORK="$WORK/$name" bash "$HERE/blfwatch.sh" >"$out" 2>&1 ;;
		floor:*) env FLOOR=1 FLOOR_BIN="${bin#floor:}" WORK="$WORK/$name" bash "$HERE/blfwatch.sh" >"$out" 2>&1 ;;
		*) env PARKD_BIN="$bin" WORK="$WORK/$name" bash "$HERE/blfwatch.sh" >"$out" 2>&1 ;;
		esac
		last=$(sed -n 's/^last NOTIFY after the INVITE: //p' "$out")
		first=$(sed -n 's/^first NOTIFY after the INVITE or BYE: p50 \([0-9.]* ms\).*/\1/p' "$out")
		cpu=$(sed -n 's/^daemon CPU: //p' "$out")
		[[ -n $last ]] || last="failed: see $out"
		printf '%-8s r%-2s %-10s %s | %s | %s\n' "$(date +%H:%M:%S)" "$r" "$name" "$last" "$first" "$cpu"
	done
done
