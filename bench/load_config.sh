# load_config.sh: sourced by the load scripts (loadgen.sh, loadgen_pair.sh,
# park_load.sh) for the daemon's config they share.
#
# load_config RTP_PORTS LOTS [MINIMAL] writes it to stdout: the RTP range
# with no RTP timeout, and LOTS lots of 1,000 slots each (10000-10999,
# 11000-11999, ...) overflowing into the next, the first being main with
# 700 and *700. The load is one PBX to parkd: 127.0.0.1 is in sip.trusted
# (no bound on its unACKed calls), and the per-source rate limit, the
# transaction cap and the BLF limits are out of the way, since they are
# not what is measured. MINIMAL=1 leaves out the sip and blf keys, for a
# build older than them (e2ab7d1), which refuses unknown keys.
load_config() {
	local ports=$1 lots=$2 minimal=${3:-} i name ext
	echo "rtp: {address: 127.0.0.1, ports: \"$ports\", timeout: 0s}"
	if [[ $minimal != 1 ]]; then
		echo "sip: {trusted: [127.0.0.1], rate_limit: {per_source: \"0\", burst: 400}, max_transactions: 1000000}"
		echo "blf: {max_per_source: 1000000, max_total: 1000000}"
	fi
	echo "lots:"
	for ((i = 0; i < lots; i++)); do
		name=lot$i ext=70$i
		((i == 0)) && name=main ext=700
		echo "  - name: $name"
		echo "    extension: \"$ext\""
		((i == 0)) && echo "    retrieve_extension: \"*700\""
		echo "    slots: \"$((10000 + 1000 * i))-$((10999 + 1000 * i))\""
		if ((i + 1 < lots)); then echo "    when_full: overflow:lot$((i + 1))"; fi
	done
}
