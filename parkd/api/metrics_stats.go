package api

import (
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/parkd/parkd/parkd"
)

// statsCollector turns a parkd.Stats snapshot into metrics at scrape time:
// the counters live in sipcore and media, so nothing here is updated per
// request or per packet.
type statsCollector struct {
	stats func() parkd.Stats

	sipRequests, sipResponses, sipCalls                      *prometheus.Desc
	sipShed, sipTransactions, sipPendingInvites              *prometheus.Desc
	blfSubscriptions, blfNotifiesSent, blfNotifiesFailed     *prometheus.Desc
	rtpReceived, rtpSent, rtpRejected, rtpLate, mohListeners *prometheus.Desc
	rtpRelayLag                                              *prometheus.Desc
	slotsOccupied, queueCalls                                *prometheus.Desc
	tcpOpen, tcpAcceptErrors, tcpRefused, tcpClosed          *prometheus.Desc
}

// NewStatsCollector exposes what stats returns (usually Server.Stats) on
// each scrape: SIP requests and responses, BLF subscriptions and NOTIFYs,
// RTP packets, MOH listeners, and per lot the occupied slots and queued
// calls. Register it once per registry.
//
// Slots are parkd_slots_occupied, read from the server's own state, so it
// does not clash with WatchEvents' event-driven parkd_slots_in_use.
func NewStatsCollector(stats func() parkd.Stats) prometheus.Collector {
	return &statsCollector{
		stats: stats,
		sipRequests: prometheus.NewDesc("parkd_sip_requests_total",
			"SIP requests parkd received, by method (unknown methods are \"other\"); retransmissions are not counted.",
			[]string{"method"}, nil),
		sipResponses: prometheus.NewDesc("parkd_sip_responses_total",
			"Final SIP responses parkd sent, by the request's method and the status code.",
			[]string{"method", "code"}, nil),
		sipCalls: prometheus.NewDesc("parkd_sip_calls",
			"Answered SIP call legs currently up.", nil, nil),
		sipShed: prometheus.NewDesc("parkd_sip_shed_total",
			"SIP messages parkd refused to work for: requests past a source's rate limit (rate_limit: answered 503, rate_drop: dropped unanswered), past sip.max_transactions (transaction_cap: 503), new INVITEs past sip.max_pending_invites (overload: 503) or that waited over a second to be handled (late: 503), and responses that answer nothing parkd sent (stray_response: dropped).",
			[]string{"reason"}, nil),
		sipTransactions: prometheus.NewDesc("parkd_sip_server_transactions",
			"SIP server transactions alive (sip.max_transactions caps them).", nil, nil),
		sipPendingInvites: prometheus.NewDesc("parkd_sip_pending_invites",
			"New INVITEs received and not yet answered (sip.max_pending_invites caps them): a backlog that grows means parkd is falling behind.", nil, nil),
		blfSubscriptions: prometheus.NewDesc("parkd_blf_subscriptions",
			"Live BLF (dialog and presence) subscriptions.", nil, nil),
		blfNotifiesSent: prometheus.NewDesc("parkd_blf_notifies_sent_total",
			"NOTIFYs parkd sent to BLF subscribers, final ones included.", nil, nil),
		blfNotifiesFailed: prometheus.NewDesc("parkd_blf_notifies_failed_total",
			"NOTIFYs that got no answer in time, a non-2xx answer, or a transport error.", nil, nil),
		rtpReceived: prometheus.NewDesc("parkd_rtp_packets_received_total",
			"Valid RTP packets received over all calls.", nil, nil),
		rtpSent: prometheus.NewDesc("parkd_rtp_packets_sent_total",
			"RTP packets sent over all calls (music on hold and relayed audio).", nil, nil),
		rtpRejected: prometheus.NewDesc("parkd_rtp_rejected_packets_total",
			"Packets dropped because their source may not send RTP to the call (rtp.latch); not counted as received.", nil, nil),
		rtpLate: prometheus.NewDesc("parkd_rtp_late_packets_total",
			"Bridged calls' RTP packets not relayed because they waited in parkd longer than rtp.max_relay_delay: parkd was behind, and relaying them would have kept what the callers hear late.", nil, nil),
		rtpRelayLag: prometheus.NewDesc("parkd_rtp_relay_lag_seconds",
			"How long bridged calls' RTP waited in parkd's sockets before the relay read it: the worst of the packets sampled (ten a second per relay poller) over about the last second. It is the delay parkd adds to what the callers hear; above a few tens of milliseconds parkd is falling behind.", nil, nil),
		mohListeners: prometheus.NewDesc("parkd_moh_listeners",
			"Calls currently hearing music on hold.", nil, nil),
		slotsOccupied: prometheus.NewDesc("parkd_slots_occupied",
			"Slots holding a parked call, by lot.", []string{"lot"}, nil),
		queueCalls: prometheus.NewDesc("parkd_queue_calls",
			"Calls waiting in the attendant queue, by lot.", []string{"lot"}, nil),
		tcpOpen: prometheus.NewDesc("parkd_sip_tcp_connections",
			"SIP TCP connections accepted and open now.", nil, nil),
		tcpAcceptErrors: prometheus.NewDesc("parkd_sip_tcp_accept_errors_total",
			"Failed accepts on the SIP TCP listeners (e.g. too many open files), each retried.", nil, nil),
		tcpRefused: prometheus.NewDesc("parkd_sip_tcp_refused_total",
			"SIP TCP connections closed at accept, by reason (not_allowed, max_connections, max_per_source).",
			[]string{"reason"}, nil),
		tcpClosed: prometheus.NewDesc("parkd_sip_tcp_closed_total",
			"SIP TCP connections parkd closed, by reason (idle, slow_message, slow_reader, oversized).",
			[]string{"reason"}, nil),
	}
}

func (c *statsCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{
		c.sipRequests, c.sipResponses, c.sipCalls, c.sipShed, c.sipTransactions, c.sipPendingInvites,
		c.blfSubscriptions, c.blfNotifiesSent, c.blfNotifiesFailed,
		c.rtpReceived, c.rtpSent, c.rtpRejected, c.rtpLate, c.rtpRelayLag, c.mohListeners,
		c.slotsOccupied, c.queueCalls,
		c.tcpOpen, c.tcpAcceptErrors, c.tcpRefused, c.tcpClosed,
	} {
		ch <- d
	}
}

func (c *statsCollector) Collect(ch chan<- prometheus.Metric) {
	st := c.stats()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	gauge := func(d *prometheus.Desc, v int, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, float64(v), labels...)
	}
	for _, r := range st.SIP.Requests {
		counter(c.sipRequests, r.Count, r.Method)
	}
	for _, r := range st.SIP.Responses {
		counter(c.sipResponses, r.Count, r.Method, strconv.Itoa(r.Code))
	}
	gauge(c.sipCalls, st.SIP.Calls)
	counter(c.sipShed, st.SIP.RateLimited, "rate_limit")
	counter(c.sipShed, st.SIP.RateDropped, "rate_drop")
	counter(c.sipShed, st.SIP.TransactionCapRefused, "transaction_cap")
	counter(c.sipShed, st.SIP.OverloadShed, "overload")
	counter(c.sipShed, st.SIP.LateShed, "late")
	counter(c.sipShed, st.SIP.StrayResponses, "stray_response")
	gauge(c.sipTransactions, int(st.SIP.Transactions))
	gauge(c.sipPendingInvites, int(st.SIP.PendingInvites))
	gauge(c.blfSubscriptions, st.SIP.Subscriptions)
	counter(c.blfNotifiesSent, st.SIP.NotifiesSent)
	counter(c.blfNotifiesFailed, st.SIP.NotifiesFailed)
	counter(c.rtpReceived, st.RTPReceived)
	counter(c.rtpSent, st.RTPSent)
	counter(c.rtpRejected, st.RTPRejected)
	counter(c.rtpLate, st.RTPLate)
	ch <- prometheus.MustNewConstMetric(c.rtpRelayLag, prometheus.GaugeValue, st.RTPRelayLag.Seconds())
	gauge(c.mohListeners, st.MOHListeners)
	for lot, n := range st.SlotsInUse {
		gauge(c.slotsOccupied, n, lot)
	}
	for lot, n := range st.Queued {
		gauge(c.queueCalls, n, lot)
	}
	gauge(c.tcpOpen, st.SIP.TCP.Open)
	counter(c.tcpAcceptErrors, st.SIP.TCP.AcceptErrors)
	for _, r := range st.SIP.TCP.Refused {
		counter(c.tcpRefused, r.Count, r.Reason)
	}
	for _, r := range st.SIP.TCP.Closed {
		counter(c.tcpClosed, r.Count, r.Reason)
	}
}
