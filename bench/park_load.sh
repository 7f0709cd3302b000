#!/usr/bin/env bash
# park_load.sh: SIP load tests of parkd with sipp (Debian package sip-tester).
#
# Builds the daemon, runs it on loopback and drives it with sipp:
#
#   rate  park at RATE calls/s: N calls to 700, each answered, parked,
#         held HOLD_MS and hung up by the caller. Reports failed calls,
#         the call rate sipp achieved, INVITE→200 time and parkd's CPU.
#   pair  park-then-retrieve at RATE calls/s: sipp A parks PAIR_N calls at
#         700 and waits in them; PAIR_HEAD seconds later sipp B dials *700
#         (the lot's retrieve extension takes the longest-waiting call, so
#         no slot numbers are needed) at the same rate, talks HOLD_MS and
#         hangs up; parkd then hangs up A's leg with BYE, which A answers.
#   hold  P calls parked at once (started at PARK_RATE calls/s), held until
#         all are parked plus WINDOW seconds; over the window it measures
#         parkd's CPU (utime+stime from /proc/PID/stat), RSS growth per
#         parked call (/proc/PID/status VmRSS against the idle daemon) and
#         the UDP datagrams sent per second (music on hold: 50 per call).
#
# Each test gets a fresh daemon (clean RSS baseline), stopped with SIGTERM;
# it must exit 0. The script exits 1 when any call failed, a sipp run did
# not exit 0, or the daemon crashed or exited non-zero; 2 on a usage or
# setup problem.
#
# Environment (defaults in brackets):
#   TESTS      which tests, in order ["rate pair hold"]
#   RATE       calls per second for rate and pair [500]
#   N          calls in the rate test [5000]
#   PAIR_N     parked+retrieved call pairs in the pair test [N]
#   PAIR_HEAD  seconds sipp A runs ahead of B [min(1, 800/RATE)]
#   HOLD_MS    how long a caller stays in a call in rate and pair [1000]
#   P          calls parked at once in the hold test [5000]
#   PARK_RATE  calls per second while filling the lot for hold [1000]
#   WINDOW     seconds of CPU/RSS measurement in hold [10]
#   RTP_PORTS  parkd's RTP range [20000-39999]
#   SIP_PORT   parkd's SIP port (UDP) [15060]; sipp uses SIP_PORT+2..+8 (keep
#              these and MEDIA_PORT out of RTP_PORTS: parkd picks RTP ports at
#              random and would take one sipp needs)
#   MEDIA_PORT first sipp media (-mp) port [16000]; each sipp takes +10
#   LOG_LEVEL  parkd --log-level [info]
#   WORK       directory for the binary, config, logs, sipp stats [mktemp]
#   SIPP       sipp binary [sipp]
#   SIPP_OPTS  extra sipp options for every run []
#   SUBS       BLF watchers present during every test: a sipp subscribes SUBS
#              times (Event: dialog) and answers every NOTIFY [0]
#   SUBS_TO    what they watch: a slot, or a lot extension for the lot-wide
#              body [700]
#   JSON_OUT   also write the figures to this file as one JSON object []
#   PARKD_BIN  run this parkd binary instead of building one (to compare
#              builds of other commits in one sitting; the config below
#              uses sip and blf keys that builds before issue 11 refuse) []
#
# Example: RATE=100 N=500 P=500 bench/park_load.sh
set -uo pipefail

TESTS=${TESTS:-"rate pair hold"}
RATE=${RATE:-500}
N=${N:-5000}
PAIR_N=${PAIR_N:-$N}
HOLD_MS=${HOLD_MS:-1000}
P=${P:-5000}
PARK_RATE=${PARK_RATE:-1000}
WINDOW=${WINDOW:-10}
RTP_PORTS=${RTP_PORTS:-20000-39999}
SIP_PORT=${SIP_PORT:-15060}
MEDIA_PORT=${MEDIA_PORT:-16000}
LOG_LEVEL=${LOG_LEVEL:-info}
SIPP=${SIPP:-sipp}
SIPP_OPTS=${SIPP_OPTS:-}
SUBS=${SUBS:-0}
SUBS_TO=${SUBS_TO:-700}
PAIR_HEAD=${PAIR_HEAD:-$(awk -v r="$RATE" 'BEGIN { h = 800 / r; if (h > 1) h = 1; printf "%.2f", h }')}

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
WORK=${WORK:-$(mktemp -d /tmp/parkd-bench.XXXXXX)}
mkdir -p "$WORK"
CLK_TCK=$(getconf CLK_TCK)

say() { printf '%s  %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { say "error: $*"; exit 2; }

command -v "$SIPP" >/dev/null || die "sipp not found: apt-get install sip-tester"
command -v go >/dev/null || die "go not found"
for v in RATE N PAIR_N HOLD_MS P PARK_RATE WINDOW SIP_PORT MEDIA_PORT; do
	[[ ${!v} =~ ^[0-9]+$ && ${!v} -gt 0 ]] || die "$v must be a positive integer (got '${!v}')"
done
[[ $SUBS =~ ^[0-9]+$ ]] || die "SUBS must be a number (got '$SUBS')"

# Enough descriptors for P parked calls (one RTP socket each) and sipp.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
need_fds=$((P + 1000))
[[ $(ulimit -n) == unlimited || $(ulimit -n) -ge $need_fds ]] ||
	die "ulimit -n is $(ulimit -n) (hard limit $(ulimit -Hn)); the hold test needs about $need_fds"
rtp_lo=${RTP_PORTS%-*} rtp_hi=${RTP_PORTS#*-}
(((rtp_hi - rtp_lo + 1) / 2 >= P + 100)) || die "RTP_PORTS $RTP_PORTS has $(((rtp_hi - rtp_lo + 1) / 2)) even ports; P=$P needs more"

say "work directory $WORK"
if [[ -n ${PARKD_BIN:-} ]]; then
	cp "$PARKD_BIN" "$WORK/parkd" || die "cannot copy PARKD_BIN $PARKD_BIN"
else
	(cd "$ROOT" && go build -o "$WORK/parkd" ./cmd/parkd) || die "go build failed"
fi

# Config: enough slots for every parked call. A lot has at most 1000
# slots, so lots overflow into the next one; the first keeps 700 and *700.
lots=$(((P + RATE * 2) / 1000 + 2))
# sipp stands for a PBX (load_config.sh); it sends no RTP.
source "$HERE/load_config.sh"
load_config "$RTP_PORTS" "$lots" >"$WORK/parkd.yaml"

FAILED=0      # any failure seen
declare -a SUMMARY
declare -a METRICS # "key": value pairs for JSON_OUT

# metric KEY VALUE: one figure for JSON_OUT (a number, or else a string).
metric() {
	local v=$2
	[[ $v =~ ^-?[0-9]+(\.[0-9]+)?$ ]] || v="\"${v//\"/\\\"}\""
	METRICS+=("\"$1\": $v")
}

PARKD_PID=
start_parkd() { # name
	local log="$WORK/$1.parkd.log"
	"$WORK/parkd" serve --config "$WORK/parkd.yaml" \
		--sip "udp://127.0.0.1:$SIP_PORT" --sip "tcp://127.0.0.1:$SIP_PORT" \
		--rtp-ports "$RTP_PORTS" --api 127.0.0.1:0 --data "$WORK/data" \
		--log-format text --log-level "$LOG_LEVEL" 2>"$log" &
	PARKD_PID=$!
	for _ in $(seq 100); do
		grep -q 'msg="parkd listening" sip=udp' "$log" && return 0
		kill -0 "$PARKD_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -20 "$log" >&2
	die "parkd did not start (log $log)"
}

WATCH_PID= WATCH_TEST=
start_watchers() { # name: SUBS subscriptions to SUBS_TO, all answered before the test
	((SUBS > 0)) || return 0
	local rate=$((SUBS < 500 ? SUBS : 500))
	# -trace_counts writes uac_subscribe_watch_PID_counts.csv in the
	# working directory: NOTIFYs received and retransmitted.
	(cd "$WORK" && run_sipp "$1-watchers" uac_subscribe_watch.xml "$SUBS_TO" $((SIP_PORT + 10)) $((MEDIA_PORT + 40)) \
		-r "$rate" -m "$SUBS" -l "$SUBS" -trace_counts) &
	WATCH_PID=$!
	WATCH_TEST=$1
	sleep $((SUBS / rate + 2))
	say "$1: $SUBS BLF watchers of $SUBS_TO subscribed"
}

count_watched() { # records the NOTIFYs the watchers received so far
	[[ -n $WATCH_PID ]] || return 0
	sleep 1.5 # sipp writes its counts every second
	local f got retr
	f=$(ls -t "$WORK"/uac_subscribe_watch_*_counts.csv 2>/dev/null | head -1)
	[[ -n $f ]] || return 0
	got=$(stat "$f" 2_NOTIFY_Recv) retr=$(stat "$f" 2_NOTIFY_Retrans)
	SUMMARY+=("$WATCH_TEST: $SUBS BLF watchers of $SUBS_TO received $got NOTIFYs, $retr of them retransmissions")
	metric "$WATCH_TEST.watcher_notifies" "$got"
	metric "$WATCH_TEST.watcher_notify_retransmissions" "$retr"
}

stop_watchers() { # after parkd: they answer its final NOTIFYs
	[[ -n $WATCH_PID ]] || return 0
	pkill -P "$WATCH_PID" 2>/dev/null
	wait "$WATCH_PID" 2>/dev/null
	WATCH_PID=
	local f
	f=$(ls -t "$WORK"/uac_subscribe_watch_*_counts.csv 2>/dev/null | head -1)
	[[ -n $f ]] && mv "$f" "$WORK/$WATCH_TEST-watchers.counts.csv"
}

stop_parkd() { # name; records the exit status
	local log="$WORK/$1.parkd.log" rc
	count_watched
	if ! kill -0 "$PARKD_PID" 2>/dev/null; then
		wait "$PARKD_PID"
		rc=$?
		say "parkd DIED during $1 (exit status $rc); end of its log:"
		tail -30 "$log" >&2
		SUMMARY+=("$1: parkd died during the test (exit status $rc)")
		FAILED=1
		stop_watchers
		return
	fi
	kill -TERM "$PARKD_PID"
	wait "$PARKD_PID"
	rc=$?
	stop_watchers
	if ((rc != 0)); then
		say "parkd exited $rc after SIGTERM"
		tail -30 "$log" >&2
		SUMMARY+=("$1: parkd exited $rc after SIGTERM")
		FAILED=1
	fi
	# Problems the daemon logged, most frequent first.
	local errs warns
	errs=$(grep -c ' level=ERROR ' "$log")
	warns=$(grep -c ' level=WARN ' "$log")
	SUMMARY+=("$1: parkd log: $errs ERROR, $warns WARN lines ($log)")
	if ((errs + warns > 0)); then
		grep -oE ' level=(ERROR|WARN) msg="[^"]*"' "$log" | sort | uniq -c | sort -rn | head -5 >"$WORK/$1.problems"
	fi
}

cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }      # utime+stime (comm has no spaces)
sys_ticks() { awk '{ print $15 }' "/proc/$1/stat"; }            # stime alone
rss_kib() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kib() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
fd_count() { find "/proc/$1/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }
udp_out() { awk '/^Udp:/ { n++; if (n == 2) print $5 }' /proc/net/snmp; } # OutDatagrams, whole host
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

# stat FILE COLUMN: the column of sipp's last -trace_stat row.
stat() {
	awk -F';' -v col="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == col) c = i; next }
		c && NF > 1 { v = $c } END { print (v == "" ? "?" : v) }' "$1"
}

# achieved_rate FILE: calls created per second between the first stats
# row and the one where TotalCallCreated reached its final value.
achieved_rate() {
	awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) { if ($i == "CurrentTime") t = i; if ($i == "TotalCallCreated") n = i }; next }
		NF > 1 { split($t, a, "\t"); ts = a[3] + 0; v = $n + 0
			if (first == "") { first = ts; n0 = v }
			if (v > last) { last = v; tl = ts } }
		END { if (tl > first) printf "%.1f", (last - n0) / (tl - first); else print "?" }' "$1"
}

# latency_bucket FILE Q: the label of sipp's response time repartition
# bucket (ms, e.g. "<5") holding the Qth percentile of INVITE→200 (100:
# the maximum); "?" without data. sipp's own mean is truncated to whole ms.
latency_bucket() {
	awk -F';' -v q="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i ~ /^ResponseTimeRepartition1_/) { b[++k] = i; l[k] = substr($i, 26) }; next }
		NF > 1 { for (j = 1; j <= k; j++) v[j] = $(b[j]) + 0 }
		END {
			for (j = 1; j <= k; j++) total += v[j]
			if (!total) { print "?"; exit }
			for (j = 1; j <= k; j++) { cum += v[j]; if (cum >= total * q / 100) break }
			print l[j]
		}' "$1"
}

# latency FILE: INVITE→200 p50, p90, p99 and max, as sipp's buckets.
latency() {
	local q out=
	[[ $(latency_bucket "$1" 50) == "?" ]] && { echo "?"; return; }
	for q in 50 90 99 100; do
		local name=p$q
		((q == 100)) && name=max
		out+="${out:+, }$name $(latency_bucket "$1" "$q") ms"
	done
	echo "$out"
}

# latency_ms FILE Q: the bucket's bound as a number (a last bucket ">=N"
# gives N), for JSON.
latency_ms() {
	local b
	b=$(latency_bucket "$1" "$2")
	echo "${b//[<>=]/}"
}

# latency_metrics PREFIX FILE: p50, p99 and max INVITE→200 as metrics.
latency_metrics() {
	local q
	for q in 50 90 99 100; do
		local name=p$q
		((q == 100)) && name=max
		metric "$1.invite_200_${name}_ms" "$(latency_ms "$2" "$q")"
	done
}

# run_sipp NAME SCENARIO SERVICE PORT MEDIA_PORT ARGS...: foreground sipp.
# Its exit status is returned; files go to $WORK/NAME.*.
run_sipp() {
	local name=$1 scenario=$2 service=$3 port=$4 mport=$5
	shift 5
	# shellcheck disable=SC2086
	"$SIPP" -sf "$HERE/$scenario" -s "$service" -t u1 -i 127.0.0.1 -p "$port" -mp "$mport" \
		-nostdin -trace_stat -stf "$WORK/$name.stat.csv" -fd 1 \
		-trace_err -error_file "$WORK/$name.errors.log" \
		-trace_screen -screen_file "$WORK/$name.screen.log" \
		-timeout_error "$@" $SIPP_OPTS "127.0.0.1:$SIP_PORT" \
		>"$WORK/$name.stdout.log" 2>"$WORK/$name.stderr.log"
}

# report_sipp NAME RC: failed calls and retransmissions of one sipp run.
report_sipp() {
	local name=$1 rc=$2 f="$WORK/$1.stat.csv"
	local ok failed retr
	ok=$(stat "$f" 'SuccessfulCall(C)')
	failed=$(stat "$f" 'FailedCall(C)')
	retr=$(stat "$f" 'Retransmissions(C)')
	SUMMARY+=("$name: sipp exit $rc, successful calls $ok, failed calls $failed, retransmissions $retr")
	metric "$name.successful" "$ok"
	metric "$name.failed" "$failed"
	metric "$name.retransmissions" "$retr"
	if [[ $rc != 0 || $failed != 0 ]]; then
		FAILED=1
		local why
		why=$(awk -F';' 'NR == 1 { for (i = 1; i <= NF; i++) h[i] = $i; next } NF > 1 { for (i in h) v[i] = $i }
			END { for (i in h) if (h[i] ~ /^Failed.*\(C\)$/ && h[i] != "FailedCall(C)" && v[i] + 0 > 0) printf "%s=%s ", h[i], v[i] }' "$f")
		SUMMARY+=("      failures: ${why:-see $WORK/$name.errors.log}")
		say "$name failed (sipp exit $rc): ${why:-} (see $WORK/$name.errors.log)"
	fi
}

test_rate() {
	say "rate: $N calls at $RATE/s to 700, each held ${HOLD_MS} ms"
	start_parkd rate
	start_watchers rate
	local c0 t0 c1 t1 rc
	c0=$(cpu_ticks "$PARKD_PID") t0=$(now)
	run_sipp rate uac_call_hold_bye.xml 700 $((SIP_PORT + 2)) "$MEDIA_PORT" \
		-r "$RATE" -m "$N" -d "$HOLD_MS" -timeout $((N / RATE + HOLD_MS / 1000 + 60))s
	rc=$?
	c1=$(cpu_ticks "$PARKD_PID") t1=$(now)
	local f="$WORK/rate.stat.csv"
	report_sipp rate "$rc"
	SUMMARY+=("rate: offered $RATE calls/s, achieved $(achieved_rate "$f") calls/s (sipp's whole-run average $(stat "$f" 'CallRate(C)'))")
	SUMMARY+=("rate: INVITE→200 $(latency "$f")")
	SUMMARY+=("rate: parkd CPU $(calc '%.1f' "($c1 - $c0) / $CLK_TCK / ($t1 - $t0) * 100")% of one core over the $(calc '%.1f' "$t1 - $t0") s run")
	metric rate.offered_per_s "$RATE"
	metric rate.achieved_per_s "$(achieved_rate "$f")"
	metric rate.cpu_pct "$(calc '%.1f' "($c1 - $c0) / $CLK_TCK / ($t1 - $t0) * 100")"
	latency_metrics rate "$f"
	stop_parkd rate
}

test_pair() {
	say "pair: $PAIR_N calls park at 700 at $RATE/s; ${PAIR_HEAD}s later as many dial *700 at $RATE/s and hang up after ${HOLD_MS} ms"
	start_parkd pair
	start_watchers pair
	local c0 t0 c1 t1 rca rcb pa limit
	limit=$((PAIR_N / RATE + HOLD_MS / 1000 + 90))
	c0=$(cpu_ticks "$PARKD_PID") t0=$(now)
	run_sipp pair-parked uac_parked_until_bye.xml 700 $((SIP_PORT + 4)) $((MEDIA_PORT + 10)) \
		-r "$RATE" -m "$PAIR_N" -timeout "${limit}s" &
	pa=$!
	sleep "$PAIR_HEAD"
	run_sipp pair-retriever uac_call_hold_bye.xml '*700' $((SIP_PORT + 6)) $((MEDIA_PORT + 20)) \
		-r "$RATE" -m "$PAIR_N" -d "$HOLD_MS" -timeout "${limit}s"
	rcb=$?
	wait "$pa"
	rca=$?
	c1=$(cpu_ticks "$PARKD_PID") t1=$(now)
	report_sipp pair-parked "$rca"
	report_sipp pair-retriever "$rcb"
	local f="$WORK/pair-retriever.stat.csv"
	SUMMARY+=("pair: offered $RATE retrieves/s, achieved $(achieved_rate "$f") /s; *700 INVITE→200 $(latency "$f")")
	SUMMARY+=("pair: parkd CPU $(calc '%.1f' "($c1 - $c0) / $CLK_TCK / ($t1 - $t0) * 100")% of one core over the $(calc '%.1f' "$t1 - $t0") s run")
	metric pair.offered_per_s "$RATE"
	metric pair.achieved_per_s "$(achieved_rate "$f")"
	metric pair.cpu_pct "$(calc '%.1f' "($c1 - $c0) / $CLK_TCK / ($t1 - $t0) * 100")"
	latency_metrics pair "$f"
	latency_metrics pair-park "$WORK/pair-parked.stat.csv"
	stop_parkd pair
}

test_hold() {
	local ramp hold_s
	ramp=$(((P + PARK_RATE - 1) / PARK_RATE))
	hold_s=$((ramp + WINDOW + 10))
	say "hold: $P calls parked at $PARK_RATE/s, each held ${hold_s}s; measuring ${WINDOW}s once all are parked"
	start_parkd hold
	start_watchers hold
	sleep 2 # idle baseline after start-up
	local rss0 fd0 sp rc
	rss0=$(rss_kib "$PARKD_PID") fd0=$(fd_count "$PARKD_PID")
	run_sipp hold uac_call_hold_bye.xml 700 $((SIP_PORT + 8)) $((MEDIA_PORT + 30)) \
		-r "$PARK_RATE" -m "$P" -l "$P" -d $((hold_s * 1000)) -timeout $((hold_s + ramp + 60))s &
	sp=$!
	# Wait until every call holds its RTP socket in parkd.
	local parked=0 deadline=$((SECONDS + ramp + 30))
	while ((SECONDS < deadline)); do
		parked=$(($(fd_count "$PARKD_PID") - fd0))
		((parked >= P)) && break
		kill -0 "$sp" 2>/dev/null || break
		sleep 0.2
	done
	sleep 1
	parked=$(($(fd_count "$PARKD_PID") - fd0))
	say "hold: $parked calls parked (open RTP sockets); measuring ${WINDOW}s"
	local c0 s0 t0 u0 c1 s1 t1 u1 rss1
	c0=$(cpu_ticks "$PARKD_PID") s0=$(sys_ticks "$PARKD_PID") t0=$(now) u0=$(udp_out)
	sleep "$WINDOW"
	c1=$(cpu_ticks "$PARKD_PID") s1=$(sys_ticks "$PARKD_PID") t1=$(now) u1=$(udp_out)
	rss1=$(rss_kib "$PARKD_PID")
	local parked_end=$(($(fd_count "$PARKD_PID") - fd0))
	wait "$sp"
	rc=$?
	sleep 1
	local left=$(($(fd_count "$PARKD_PID") - fd0)) hwm
	hwm=$(hwm_kib "$PARKD_PID")
	report_sipp hold "$rc"
	SUMMARY+=("hold: $parked calls parked at the start of the window, $parked_end at its end (RTP sockets open in parkd); $left still open after the callers hung up")
	SUMMARY+=("hold: parkd CPU $(calc '%.1f' "($c1 - $c0) / $CLK_TCK / ($t1 - $t0) * 100")% of one core over $(calc '%.1f' "$t1 - $t0") s with $parked parked calls (system time alone $(calc '%.1f' "($s1 - $s0) / $CLK_TCK / ($t1 - $t0) * 100")%)")
	SUMMARY+=("hold: UDP datagrams sent $(calc '%.0f' "($u1 - $u0) / ($t1 - $t0)")/s (whole host; music on hold for $parked calls is $((parked * 50))/s)")
	metric hold.parked "$parked"
	metric hold.cpu_pct "$(calc '%.1f' "($c1 - $c0) / $CLK_TCK / ($t1 - $t0) * 100")"
	metric hold.sys_cpu_pct "$(calc '%.1f' "($s1 - $s0) / $CLK_TCK / ($t1 - $t0) * 100")"
	if ((parked > 0)); then
		SUMMARY+=("hold: RSS ${rss0} KiB idle → ${rss1} KiB parked (peak ${hwm} KiB): $(calc '%.1f' "($rss1 - $rss0) / $parked") KiB per parked call")
		metric hold.rss_kib_per_call "$(calc '%.1f' "($rss1 - $rss0) / $parked")"
	fi
	if ((parked < P)); then
		SUMMARY+=("hold: only $parked of $P calls were ever parked at once")
		FAILED=1
	fi
	stop_parkd hold
}

for t in $TESTS; do
	case $t in
	rate) test_rate ;;
	pair) test_pair ;;
	hold) test_hold ;;
	*) die "unknown test '$t' (rate, pair, hold)" ;;
	esac
done

echo
echo "parkd load test summary ($(nproc) CPUs; RATE=$RATE N=$N PAIR_N=$PAIR_N HOLD_MS=$HOLD_MS P=$P PARK_RATE=$PARK_RATE WINDOW=$WINDOW SUBS=$SUBS SUBS_TO=$SUBS_TO)"
for line in "${SUMMARY[@]}"; do echo "  $line"; done
for f in "$WORK"/*.problems; do
	[[ -e $f ]] || continue
	echo "  most frequent parkd log problems in $(basename "$f" .problems):"
	sed 's/^/      /' "$f"
done
echo "  files: $WORK"
if [[ -n ${JSON_OUT:-} ]]; then
	metric pass "$((FAILED ? 0 : 1))"
	{
		printf '{'
		for i in "${!METRICS[@]}"; do
			((i > 0)) && printf ','
			printf '\n  %s' "${METRICS[$i]}"
		done
		printf '\n}\n'
	} >"$JSON_OUT"
fi
if ((FAILED)); then
	echo "RESULT: FAIL"
	exit 1
fi
echo "RESULT: PASS"
