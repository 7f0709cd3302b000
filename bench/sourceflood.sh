#!/usr/bin/env bash
# sourceflood.sh: what parkd keeps per UDP source address it heard from.
# Starts parkd in a private network namespace and runs bench/sourceflood
# against it: one datagram from each of N loopback source addresses, then
# the daemon's live heap before and after (a forced collection, once what
# the datagrams started has ended). Exit status 1 when the heap grew by
# more than MAX_GROWTH_MIB, 2 on a setup problem.
#
# Like bench/fuzz_campaign.sh it re-executes itself under `unshare -rn`
# and refuses to run where loopback is not the only interface.
#
# Environment (defaults in brackets):
#   N               source addresses [100000]
#   KIND            response (a stray 200) or request (an INVITE to an
#                   extension parkd does not have) [response]
#   SETTLE          wait before measuring [40s]
#   MAX_GROWTH_MIB  the most the live heap may grow [16]
#   WORK            work directory [mktemp]
#
# Example: N=200000 KIND=request bench/sourceflood.sh
set -uo pipefail

N=${N:-100000}
KIND=${KIND:-response}
SETTLE=${SETTLE:-40s}
MAX_GROWTH_MIB=${MAX_GROWTH_MIB:-16}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

say() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 2; }

# only_loopback
source "$HERE/netns.sh"

command -v ip >/dev/null || die "the ip command (iproute2) is needed to check the network namespace"
if ! only_loopback; then
	[[ ${SOURCEFLOOD_IN_NETNS:-} == 1 ]] && die "still not in a private network namespace after unshare; refusing to run"
	command -v unshare >/dev/null || die "unshare (util-linux) not found; refusing to run on the real network"
	unshare -rn true 2>/dev/null || die "unshare -rn is not permitted here; refusing to run on the real network"
	WORK=${WORK:-$(mktemp -d /tmp/parkd-sourceflood.XXXXXX)}
	mkdir -p "$WORK"
	say "building parkd and sourceflood in $WORK"
	(cd "$ROOT" && go build -o "$WORK/parkd" ./cmd/parkd && go build -o "$WORK/sourceflood" ./bench/sourceflood) || die "go build failed"
	export WORK SOURCEFLOOD_IN_NETNS=1
	exec unshare -rn bash -c 'ip link set lo up && exec bash "$0"' "$0"
fi
ip link set lo up 2>/dev/null || true
[[ $(ip -o addr show lo) == *127.0.0.1/8* ]] || die "loopback has no 127.0.0.1/8 in this namespace"
WORK=${WORK:-$(mktemp -d /tmp/parkd-sourceflood.XXXXXX)}
mkdir -p "$WORK"
if [[ ! -x $WORK/parkd || ! -x $WORK/sourceflood ]]; then
	(cd "$ROOT" && go build -o "$WORK/parkd" ./cmd/parkd && go build -o "$WORK/sourceflood" ./bench/sourceflood) || die "go build failed"
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# Every source is its own address, so the per-source rate limit does not
# apply; parkd's defaults otherwise.
cat >"$WORK/parkd.yaml" <<YAML
rtp: {address: 127.0.0.1, ports: "40000-40999"}
lots:
  - name: main
    extension: "700"
    slots: "701-799"
YAML
"$WORK/parkd" serve --config "$WORK/parkd.yaml" --sip udp://127.0.0.1:5060 --api 127.0.0.1:7080 \
	--data "$WORK/data" --log-level warn 2>"$WORK/parkd.log" &
PID=$!
trap 'kill $PID 2>/dev/null' EXIT
for _ in $(seq 50); do [[ -s $WORK/data/token ]] && break; sleep 0.1; done
sleep 0.5
kill -0 $PID 2>/dev/null || { tail -20 "$WORK/parkd.log" >&2; die "parkd did not start"; }
rss() { awk '/^VmRSS/ { printf "%.0f MiB", $2 / 1024 }' /proc/$PID/status; }
say "parkd RSS $(rss); $N ${KIND}s from as many sources"
"$WORK/sourceflood" -target 127.0.0.1:5060 -api http://127.0.0.1:7080 -token "$WORK/data/token" \
	-n "$N" -kind "$KIND" -settle "$SETTLE" -max-growth-mib "$MAX_GROWTH_MIB"
rc=$?
say "parkd RSS $(rss)"
kill -TERM $PID
wait $PID
trap - EXIT
exit $rc
