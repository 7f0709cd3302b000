# netns.sh: sourced by the scripts that send hostile traffic
# (fuzz_campaign.sh, sourceflood.sh), which run only in a network
# namespace of their own.

# only_loopback: true when lo is the sole network interface here.
only_loopback() {
	local other
	other=$(ip -o link show 2>/dev/null | awk -F': ' '{ print $2 }' | grep -v '^lo$' || true)
	[[ -z $other ]] && ip -o link show lo >/dev/null 2>&1
}
