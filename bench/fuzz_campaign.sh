#!/usr/bin/env bash
# fuzz_campaign.sh: try to break parkd with hostile SIP while a call is
# parked in it, inside a private network namespace.
#
# Phases (each with a fresh daemon, stopped with SIGTERM at the end; it
# must exit 0 within STOP_WAIT seconds):
#
#   fuzz   bench/sipfuzz sends N mutated SIP messages at RATE/s over UDP
#          and TCP from 127.0.0.2-5 (inside sip.allow) and 127.0.0.9
#          (outside it) while a canary call is parked in a lot of its own.
#   flood  FLOOD_RATE OPTIONS/s over UDP for FLOOD_SECONDS from
#          FLOOD_SOURCES (all inside sip.allow: the daemon must shed the
#          flood itself), with the canary parked; RSS must stay under
#          MAX_RSS_MIB (issue 11: 5,000/s for 10 s under 150 MiB).
#
# Each phase reports: messages sent, what the daemon sent back, whether it
# is alive, the canary's music (packets/s min and average, the longest
# silence; 50 pkt/s is unbroken), whether the canary is still parked (API),
# the daemon's RSS (start, peak, end) and how much it logged. The run fails
# (exit 1) when the daemon dies, does not stop cleanly, the canary loses
# its music for more than MAX_SILENCE or is unparked, or RSS passes the
# flood's limit; 2 on a setup problem.
#
# The network namespace: the corpus names hosts under .invalid and
# messages that may make parkd resolve or call them. Nothing must leave
# the machine, so the script runs only where loopback is the sole network
# interface. Run from a normal shell it re-executes itself under
# `unshare -rn` (a user and network namespace: no root needed), brings lo
# up and runs there. If that is impossible (user namespaces disabled:
# kernel.unprivileged_userns_clone=0, or an AppArmor/seccomp policy that
# forbids them) it refuses to run; use `sudo unshare -n bash -c 'ip link
# set lo up; exec sudo -u "$SUDO_USER" env PATH="$PATH" bench/fuzz_campaign.sh'`
# or enable user namespaces. It never falls back to the real network.
#
# Environment (defaults in brackets):
#   PHASES        which phases, in order ["fuzz flood"]
#   SEED          fuzz seed [1]; the same seed sends the same messages
#   N             fuzz messages [20000]
#   RATE          fuzz messages per second [200]
#   FLOOD_RATE    OPTIONS per second in the flood [5000]
#   FLOOD_SECONDS flood duration [10]
#   MAX_RSS_MIB   the flood's RSS limit [150]
#   MAX_SILENCE   the longest silence the canary tolerates [1s]
#   SOURCES       sipfuzz -sources for fuzz [127.0.0.2-127.0.0.5,127.0.0.9]
#   FLOOD_SOURCES sipfuzz -sources for flood [127.0.0.2-127.0.0.5]
#   LOG_LEVEL     parkd --log-level [info]
#   STOP_WAIT     seconds parkd may take to stop after SIGTERM [15]
#   SIPFUZZ_OPTS  extra sipfuzz flags []
#   QUIET_WAIT    seconds to wait for a quiet machine before each phase [0]:
#                 on a shared VM a neighbour's build starves the daemon and
#                 shows up as canary silences; use 300 for figures to publish
#   QUIET_BUSY    quiet means at most this % of all CPUs busy over 3 s [25]
#   WORK          directory for binaries, config, logs, reports [mktemp]
#
# Example: N=2000 RATE=100 PHASES=fuzz bench/fuzz_campaign.sh
set -uo pipefail

PHASES=${PHASES:-"fuzz flood"}
SEED=${SEED:-1}
N=${N:-20000}
RATE=${RATE:-200}
FLOOD_RATE=${FLOOD_RATE:-5000}
FLOOD_SECONDS=${FLOOD_SECONDS:-10}
MAX_RSS_MIB=${MAX_RSS_MIB:-150}
MAX_SILENCE=${MAX_SILENCE:-1s}
SOURCES=${SOURCES:-127.0.0.2-127.0.0.5,127.0.0.9}
FLOOD_SOURCES=${FLOOD_SOURCES:-127.0.0.2-127.0.0.5}
LOG_LEVEL=${LOG_LEVEL:-info}
STOP_WAIT=${STOP_WAIT:-15}
QUIET_WAIT=${QUIET_WAIT:-0}
QUIET_BUSY=${QUIET_BUSY:-25}
SIPFUZZ_OPTS=${SIPFUZZ_OPTS:-}
SIP_PORT=5060 # the namespace is private: every port is free
API_PORT=7080

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)

say() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 2; }

for v in SEED N RATE FLOOD_RATE FLOOD_SECONDS MAX_RSS_MIB STOP_WAIT QUIET_WAIT QUIET_BUSY; do
	[[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a non-negative integer (got '${!v}')"
done

# only_loopback
source "$HERE/netns.sh"

command -v ip >/dev/null || die "the ip command (iproute2) is needed to check the network namespace"
if ! only_loopback; then
	if [[ ${FUZZ_CAMPAIGN_IN_NETNS:-} == 1 ]]; then
		die "still not in a private network namespace after unshare; refusing to fuzz on the real network"
	fi
	command -v unshare >/dev/null || die "unshare (util-linux) not found; refusing to run on the real network (see the header of $0)"
	unshare -rn true 2>/dev/null ||
		die "unshare -rn is not permitted here (user namespaces disabled?); refusing to run on the real network (see the header of $0)"
	# Build first: the namespace has no network for the Go module proxy.
	WORK=${WORK:-$(mktemp -d /tmp/parkd-fuzz.XXXXXX)}
	mkdir -p "$WORK"
	say "work directory $WORK"
	say "building parkd and sipfuzz"
	(cd "$ROOT" && go build -o "$WORK/parkd" ./cmd/parkd && go build -o "$WORK/sipfuzz" ./bench/sipfuzz) || die "go build failed"
	say "re-executing in a private network namespace (unshare -rn)"
	export WORK FUZZ_CAMPAIGN_IN_NETNS=1 FUZZ_CAMPAIGN_BUILT=1
	exec unshare -rn bash -c 'ip link set lo up && exec bash "$0"' "$0"
fi
# In a new namespace lo starts down; in one that someone else made it
# may already be up.
ip link set lo up 2>/dev/null || true
# (Not "ip | grep -q": with pipefail, grep's early exit fails the pipe.)
[[ $(ip -o addr show lo) == *127.0.0.1/8* ]] || die "loopback has no 127.0.0.1/8 in this namespace"

WORK=${WORK:-$(mktemp -d /tmp/parkd-fuzz.XXXXXX)}
mkdir -p "$WORK"
if [[ ${FUZZ_CAMPAIGN_BUILT:-} != 1 ]]; then
	say "work directory $WORK"
	say "building parkd and sipfuzz"
	(cd "$ROOT" && go build -o "$WORK/parkd" ./cmd/parkd && go build -o "$WORK/sipfuzz" ./bench/sipfuzz) || die "go build failed"
fi
say "in a private network namespace: $(ip -o link show | awk -F': ' '{ printf "%s ", $2 }')"

# DNS: the name servers of /etc/resolv.conf are put on lo here and sipfuzz
# answers them (NXDOMAIN), counting every query: parkd should resolve no
# name a fuzz message made up. 127.0.0.1:53 is Go's choice when
# resolv.conf names none.
DNS_ADDRS="127.0.0.1:53"
while read -r kw ns _; do
	[[ $kw == nameserver && $ns =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ ]] || continue
	if [[ $ns != 127.* ]] && ! ip addr add "$ns/32" dev lo 2>/dev/null; then
		say "cannot put name server $ns on lo: its queries are not counted"
		continue
	fi
	[[ ,$DNS_ADDRS, == *,$ns:53,* ]] || DNS_ADDRS+=",$ns:53"
done </etc/resolv.conf
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

# The config: the fuzzed lot main (700, 701-720, *700) and the canary's
# own lot (9990, slot 9991) that the corpus never names, so a fuzzed
# INVITE to a slot cannot retrieve the canary. sip.allow is 127.0.0.0/29:
# 127.0.0.2-5 are inside, 127.0.0.9 outside. No recalls: the canary has
# no parker and must stay parked for the whole run.
cat >"$WORK/parkd.yaml" <<EOF
sip:
  listen: ["udp://127.0.0.1:$SIP_PORT", "tcp://127.0.0.1:$SIP_PORT"]
  allow: ["127.0.0.0/29"]
rtp: {address: 127.0.0.1, ports: "30000-30999", timeout: 60s}
api: {listen: "127.0.0.1:$API_PORT"}
defaults:
  max_recalls: 0
lots:
  - name: main
    extension: "700"
    retrieve_extension: "*700"
    slots: "701-720"
  - name: canary
    extension: "9990"
    slots: "9991-9991"
EOF

FAILED=0
PARKD_PID=
declare -a SUMMARY

start_parkd() { # phase
	local log="$WORK/$1.parkd.log"
	rm -rf "$WORK/$1.data"
	"$WORK/parkd" serve --config "$WORK/parkd.yaml" --data "$WORK/$1.data" \
		--log-format text --log-level "$LOG_LEVEL" 2>"$log" &
	PARKD_PID=$!
	for _ in $(seq 100); do
		if grep -q 'msg="api listening"' "$log" && grep -q 'msg="parkd listening" sip=tcp' "$log"; then
			return 0
		fi
		kill -0 "$PARKD_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -20 "$log" >&2
	die "parkd did not start (log $log)"
}

stop_parkd() { # phase
	local log="$WORK/$1.parkd.log" rc
	if ! kill -0 "$PARKD_PID" 2>/dev/null || grep -q '^State:.*Z' "/proc/$PARKD_PID/status" 2>/dev/null; then
		wait "$PARKD_PID"
		rc=$?
		say "parkd DIED during $1 (exit status $rc); end of its log:"
		tail -30 "$log" >&2
		SUMMARY+=("$1: parkd died during the run (exit status $rc); log $log")
		FAILED=1
		return
	fi
	local t0=$SECONDS
	kill -TERM "$PARKD_PID"
	for _ in $(seq $((STOP_WAIT * 10))); do
		kill -0 "$PARKD_PID" 2>/dev/null || break
		grep -q '^State:.*Z' "/proc/$PARKD_PID/status" 2>/dev/null && break
		sleep 0.1
	done
	if kill -0 "$PARKD_PID" 2>/dev/null && ! grep -q '^State:.*Z' "/proc/$PARKD_PID/status" 2>/dev/null; then
		say "parkd did not stop within ${STOP_WAIT}s of SIGTERM; killing it"
		kill -KILL "$PARKD_PID"
		wait "$PARKD_PID"
		SUMMARY+=("$1: parkd did not stop within ${STOP_WAIT}s of SIGTERM (killed)")
		FAILED=1
		return
	fi
	wait "$PARKD_PID"
	rc=$?
	if ((rc != 0)); then
		SUMMARY+=("$1: parkd exited $rc after SIGTERM")
		FAILED=1
	else
		SUMMARY+=("$1: parkd stopped cleanly after SIGTERM (exit 0, $((SECONDS - t0)) s)")
	fi
	local lines errs warns
	lines=$(wc -l <"$log")
	errs=$(grep -c ' level=ERROR ' "$log")
	warns=$(grep -c ' level=WARN ' "$log")
	SUMMARY+=("$1: parkd log $(wc -c <"$log") bytes, $lines lines: $errs ERROR, $warns WARN ($log)")
	if ((errs + warns > 0)); then
		grep -oE ' level=(ERROR|WARN) msg="[^"]*"' "$log" | sort | uniq -c | sort -rn | head -5 >"$WORK/$1.problems"
	fi
	if grep -q 'panic\|fatal error' "$log"; then
		SUMMARY+=("$1: the log mentions a panic: grep -n panic $log")
		FAILED=1
	fi
}

run_sipfuzz() { # phase sources flags...
	local phase=$1 sources=$2 rc
	shift 2
	# shellcheck disable=SC2086
	"$WORK/sipfuzz" -sip "127.0.0.1:$SIP_PORT" -pid "$PARKD_PID" -log "$WORK/$phase.parkd.log" \
		-api "http://127.0.0.1:$API_PORT" -token-file "$WORK/$phase.data/token" \
		-sources "$sources" -dns-listen "$DNS_ADDRS" -max-silence "$MAX_SILENCE" "$@" $SIPFUZZ_OPTS -json-file "$WORK/$phase.report.json" >"$WORK/$phase.report.txt" 2>"$WORK/$phase.sipfuzz.log"
	rc=$?
	if ((rc == 2)); then
		cat "$WORK/$phase.sipfuzz.log" >&2
		SUMMARY+=("$phase: sipfuzz could not run (exit 2): $WORK/$phase.sipfuzz.log")
		FAILED=1
		return
	fi
	((rc != 0)) && FAILED=1
	SUMMARY+=("$(cat "$WORK/$phase.report.txt")")
}

# busy_pct: % of all CPUs busy over the next 3 s (/proc/stat).
busy_pct() {
	local a b
	a=$(awk '/^cpu / { print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat)
	sleep 3
	b=$(awk '/^cpu / { print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9 }' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " "); t = y[2] - x[2]; printf "%d", (t > 0 ? 100 * (y[1] - x[1]) / t : 0) }'
}

wait_quiet() {
	((QUIET_WAIT > 0)) || return 0
	local deadline=$((SECONDS + QUIET_WAIT)) busy
	while :; do
		busy=$(busy_pct)
		((busy <= QUIET_BUSY)) && { say "machine quiet (${busy}% busy)"; return; }
		((SECONDS >= deadline)) && { say "machine still ${busy}% busy after ${QUIET_WAIT}s: running anyway"; return; }
		say "machine ${busy}% busy; waiting for it to quiet down"
		sleep 5
	done
}

for phase in $PHASES; do
	wait_quiet
	case $phase in
	fuzz)
		say "fuzz: $N messages at $RATE/s, seed $SEED"
		start_parkd fuzz
		run_sipfuzz fuzz "$SOURCES" -seed "$SEED" -n "$N" -rate "$RATE"
		stop_parkd fuzz
		;;
	flood)
		say "flood: $FLOOD_RATE OPTIONS/s for ${FLOOD_SECONDS}s"
		start_parkd flood
		run_sipfuzz flood "$FLOOD_SOURCES" -flood-options "$FLOOD_RATE" -duration "${FLOOD_SECONDS}s" -max-rss-mib "$MAX_RSS_MIB"
		stop_parkd flood
		;;
	*) die "unknown phase '$phase' (fuzz, flood)" ;;
	esac
done

echo
echo "parkd fuzz campaign ($(nproc) CPUs, $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?'); PHASES=\"$PHASES\" SEED=$SEED N=$N RATE=$RATE FLOOD_RATE=$FLOOD_RATE FLOOD_SECONDS=$FLOOD_SECONDS)"
for line in "${SUMMARY[@]}"; do echo "$line"; done
for f in "$WORK"/*.problems; do
	[[ -e $f ]] || continue
	echo "most frequent parkd log problems in $(basename "$f" .problems):"
	sed 's/^/    /' "$f"
done
echo "files: $WORK (reports: *.report.json)"
if ((FAILED)); then
	echo "RESULT: FAIL"
	exit 1
fi
echo "RESULT: PASS"
