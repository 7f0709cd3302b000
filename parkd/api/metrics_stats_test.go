package api

import (
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/sipcore"
)

func fakeStats() parkd.Stats {
	return parkd.Stats{
		SIP: sipcore.EndpointStats{
			Requests: []sipcore.MethodCount{{Method: "INVITE", Count: 7}, {Method: "SUBSCRIBE", Count: 3}, {Method: "other", Count: 1}},
			Responses: []sipcore.ResponseCount{
				{Method: "INVITE", Code: 200, Count: 5}, {Method: "INVITE", Code: 404, Count: 2},
				{Method: "SUBSCRIBE", Code: 200, Count: 3}, {Method: "other", Code: 405, Count: 1},
			},
			Subscriptions:  3,
			NotifiesSent:   12,
			NotifiesFailed: 1,
			Calls:          4,

			StrayResponses: 6, RateLimited: 40, RateDropped: 900, TransactionCapRefused: 2, Transactions: 17,
			OverloadShed: 11, LateShed: 3, PendingInvites: 5,
			TCP: sipcore.TCPStats{
				Open: 6, AcceptErrors: 2,
				Refused: []sipcore.ReasonCount{{Reason: sipcore.TCPNotAllowed, Count: 9}},
				Closed:  []sipcore.ReasonCount{{Reason: sipcore.TCPIdle, Count: 3}, {Reason: sipcore.TCPSlowMessage, Count: 1}},
			},
		},
		RTPReceived:  1000,
		RTPSent:      2500,
		RTPRejected:  3,
		RTPLate:      7,
		RTPRelayLag:  35 * time.Millisecond,
		MOHListeners: 2,
		SlotsInUse:   map[string]int{"main": 2, "sales": 0},
		Queued:       map[string]int{"main": 1, "sales": 0},
	}
}

const fakeStatsExposition = `
# HELP parkd_blf_notifies_failed_total NOTIFYs that got no answer in time, a non-2xx answer, or a transport error.
# TYPE parkd_blf_notifies_failed_total counter
parkd_blf_notifies_failed_total 1
# HELP parkd_blf_notifies_sent_total NOTIFYs parkd sent to BLF subscribers, final ones included.
# TYPE parkd_blf_notifies_sent_total counter
parkd_blf_notifies_sent_total 12
# HELP parkd_blf_subscriptions Live BLF (dialog and presence) subscriptions.
# TYPE parkd_blf_subscriptions gauge
parkd_blf_subscriptions 3
# HELP parkd_moh_listeners Calls currently hearing music on hold.
# TYPE parkd_moh_listeners gauge
parkd_moh_listeners 2
# HELP parkd_queue_calls Calls waiting in the attendant queue, by lot.
# TYPE parkd_queue_calls gauge
parkd_queue_calls{lot="main"} 1
parkd_queue_calls{lot="sales"} 0
# HELP parkd_rtp_late_packets_total Bridged calls' RTP packets not relayed because they waited in parkd longer than rtp.max_relay_delay: parkd was behind, and relaying them would have kept what the callers hear late.
# TYPE parkd_rtp_late_packets_total counter
parkd_rtp_late_packets_total 7
# HELP parkd_rtp_packets_received_total Valid RTP packets received over all calls.
# TYPE parkd_rtp_packets_received_total counter
parkd_rtp_packets_received_total 1000
# HELP parkd_rtp_packets_sent_total RTP packets sent over all calls (music on hold and relayed audio).
# TYPE parkd_rtp_packets_sent_total counter
parkd_rtp_packets_sent_total 2500
# HELP parkd_rtp_rejected_packets_total Packets dropped because their source may not send RTP to the call (rtp.latch); not counted as received.
# TYPE parkd_rtp_rejected_packets_total counter
parkd_rtp_rejected_packets_total 3
# HELP parkd_rtp_relay_lag_seconds How long bridged calls' RTP waited in parkd's sockets before the relay read it: the worst of the packets sampled (ten a second per relay poller) over about the last second. It is the delay parkd adds to what the callers hear; above a few tens of milliseconds parkd is falling behind.
# TYPE parkd_rtp_relay_lag_seconds gauge
parkd_rtp_relay_lag_seconds 0.035
# HELP parkd_sip_calls Answered SIP call legs currently up.
# TYPE parkd_sip_calls gauge
parkd_sip_calls 4
# HELP parkd_sip_pending_invites New INVITEs received and not yet answered (sip.max_pending_invites caps them): a backlog that grows means parkd is falling behind.
# TYPE parkd_sip_pending_invites gauge
parkd_sip_pending_invites 5
# HELP parkd_sip_requests_total SIP requests parkd received, by method (unknown methods are "other"); retransmissions are not counted.
# TYPE parkd_sip_requests_total counter
parkd_sip_requests_total{method="INVITE"} 7
parkd_sip_requests_total{method="SUBSCRIBE"} 3
parkd_sip_requests_total{method="other"} 1
# HELP parkd_sip_responses_total Final SIP responses parkd sent, by the request's method and the status code.
# TYPE parkd_sip_responses_total counter
parkd_sip_responses_total{code="200",method="INVITE"} 5
parkd_sip_responses_total{code="200",method="SUBSCRIBE"} 3
parkd_sip_responses_total{code="404",method="INVITE"} 2
parkd_sip_responses_total{code="405",method="other"} 1
# HELP parkd_sip_server_transactions SIP server transactions alive (sip.max_transactions caps them).
# TYPE parkd_sip_server_transactions gauge
parkd_sip_server_transactions 17
# HELP parkd_sip_shed_total SIP messages parkd refused to work for: requests past a source's rate limit (rate_limit: answered 503, rate_drop: dropped unanswered), past sip.max_transactions (transaction_cap: 503), new INVITEs past sip.max_pending_invites (overload: 503) or that waited over a second to be handled (late: 503), and responses that answer nothing parkd sent (stray_response: dropped).
# TYPE parkd_sip_shed_total counter
parkd_sip_shed_total{reason="late"} 3
parkd_sip_shed_total{reason="overload"} 11
parkd_sip_shed_total{reason="rate_drop"} 900
parkd_sip_shed_total{reason="rate_limit"} 40
parkd_sip_shed_total{reason="stray_response"} 6
parkd_sip_shed_total{reason="transaction_cap"} 2
# HELP parkd_sip_tcp_accept_errors_total Failed accepts on the SIP TCP listeners (e.g. too many open files), each retried.
# TYPE parkd_sip_tcp_accept_errors_total counter
parkd_sip_tcp_accept_errors_total 2
# HELP parkd_sip_tcp_closed_total SIP TCP connections parkd closed, by reason (idle, slow_message, slow_reader, oversized).
# TYPE parkd_sip_tcp_closed_total counter
parkd_sip_tcp_closed_total{reason="idle"} 3
parkd_sip_tcp_closed_total{reason="slow_message"} 1
# HELP parkd_sip_tcp_connections SIP TCP connections accepted and open now.
# TYPE parkd_sip_tcp_connections gauge
parkd_sip_tcp_connections 6
# HELP parkd_sip_tcp_refused_total SIP TCP connections closed at accept, by reason (not_allowed, max_connections, max_per_source).
# TYPE parkd_sip_tcp_refused_total counter
parkd_sip_tcp_refused_total{reason="not_allowed"} 9
# HELP parkd_slots_occupied Slots holding a parked call, by lot.
# TYPE parkd_slots_occupied gauge
parkd_slots_occupied{lot="main"} 2
parkd_slots_occupied{lot="sales"} 0
`

// gather scrapes c alone on a pedantic registry, which also checks that
// every metric matches a described Desc. (prometheus/testutil would do,
// but it needs a go.sum entry the module does not have yet.)
func gather(t *testing.T, c prometheus.Collector) []*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewPedanticRegistry()
	reg.MustRegister(c)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return mfs
}

func exposition(t *testing.T, mfs []*dto.MetricFamily) string {
	t.Helper()
	var b strings.Builder
	for _, mf := range mfs {
		if _, err := expfmt.MetricFamilyToText(&b, mf); err != nil {
			t.Fatal(err)
		}
	}
	return b.String()
}

func TestStatsCollector(t *testing.T) {
	mfs := gather(t, NewStatsCollector(fakeStats))
	if got, want := exposition(t, mfs), strings.TrimPrefix(fakeStatsExposition, "\n"); got != want {
		t.Errorf("scrape:\n%s\nwant:\n%s", got, want)
	}
	problems, err := promlint.NewWithMetricFamilies(mfs).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("lint: %s: %s", p.Metric, p.Text)
	}
}

func TestStatsCollectorReadsOnEveryScrape(t *testing.T) {
	var sent atomic.Uint64
	c := NewStatsCollector(func() parkd.Stats {
		return parkd.Stats{SIP: sipcore.EndpointStats{NotifiesSent: sent.Load()}}
	})
	for _, want := range []uint64{0, 5, 9} {
		sent.Store(want)
		mfs := gather(t, c)
		var got float64 = -1
		for _, mf := range mfs {
			if mf.GetName() == "parkd_blf_notifies_sent_total" {
				got = mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		if got != float64(want) {
			t.Errorf("scrape after %d NOTIFYs read %v", want, got)
		}
	}
	// No SIP traffic and no lots: the labelled families are simply absent.
	for _, mf := range gather(t, c) {
		switch mf.GetName() {
		case "parkd_sip_requests_total", "parkd_sip_responses_total", "parkd_slots_occupied", "parkd_queue_calls":
			t.Errorf("empty stats gave %s %v", mf.GetName(), mf.GetMetric())
		}
	}
}

// The collector shares a registry with the API's and WatchEvents' metrics
// (and the Go collectors) without a name clash.
func TestStatsCollectorBesideOtherMetrics(t *testing.T) {
	reg := NewRegistry()
	newAPIMetrics(reg, "test")
	newEventMetrics(reg)
	if err := reg.Register(NewStatsCollector(fakeStats)); err != nil {
		t.Fatalf("registering beside the other parkd metrics: %v", err)
	}
	if _, err := reg.Gather(); err != nil {
		t.Fatal(err)
	}
}
