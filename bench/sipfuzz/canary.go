package main

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net/netip"
	"sync"
	"time"

	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/media"
)

// canary is one call parked in the daemon for the whole run, on a user
// agent of its own (sipcore, the daemon's own stack, as the caller's
// side). It talks (a tone, so the daemon's RTP timeout never ends it and
// its latch sees a real caller) and counts the music on hold it hears.
type canary struct {
	ep     *sipcore.Endpoint
	call   *sipcore.Call
	src    *media.Source
	stopFn context.CancelFunc

	mu                     sync.Mutex
	lastSeen               uint64    // packets received at the last sample
	lastMove               time.Time // when the count last grew
	maxGap                 time.Duration
	maxGapEnd              time.Time
	ownStall               time.Duration // the longest this sampler ran late
	lastSample             time.Time
	warmupGap, warmupStall time.Duration
	runStart               time.Time
	runPackets             uint64
	secStart               time.Time
	secCount               uint64 // packets at secStart
	rates                  []float64
	ended                  bool
}

type canaryConfig struct {
	IP       string // the canary's own address (SIP and RTP)
	RTPPorts [2]int
	Target   string // sip:9990@127.0.0.1:5060
	Log      *slog.Logger
}

// tonePCM is one second of a soft 440 Hz tone at 8 kHz.
func tonePCM() []int16 {
	pcm := make([]int16, 8000)
	for i := range pcm {
		pcm[i] = int16(3000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	return pcm
}

// placeCanary calls the park extension and waits for the answer.
func placeCanary(ctx context.Context, cfg canaryConfig) (*canary, error) {
	ip, err := netip.ParseAddr(cfg.IP)
	if err != nil {
		return nil, fmt.Errorf("canary address %q: %w", cfg.IP, err)
	}
	alloc, err := media.NewAllocator(ip, cfg.RTPPorts[0], cfg.RTPPorts[1])
	if err != nil {
		return nil, fmt.Errorf("canary RTP: %w", err)
	}
	ep, err := sipcore.NewEndpoint(sipcore.Config{
		Listen:    []sipcore.ListenAddr{{Network: "udp", Addr: netip.AddrPortFrom(ip, 0).String()}},
		UserAgent: "parkd-sipfuzz-canary",
		RTP:       alloc,
		Logger:    cfg.Log,
		Settings: sipcore.Settings{
			Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		},
	}, canaryHandler{})
	if err != nil {
		return nil, fmt.Errorf("canary endpoint: %w", err)
	}
	host := ep.Addrs()[0].Addr
	octx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	call, err := ep.Originate(octx, sipcore.Originate{
		Targets: []string{cfg.Target},
		From:    sipcore.Party{Display: "Canary", URI: "sip:canary@" + host, User: "canary"},
	})
	if err != nil {
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
		ep.Shutdown(sctx)
		scancel()
		return nil, fmt.Errorf("canary call to %s: %w", cfg.Target, err)
	}
	c := &canary{ep: ep, call: call, src: media.NewSourceFromPCM("canary", tonePCM())}
	c.src.SetLogger(cfg.Log)
	var sctx context.Context
	sctx, c.stopFn = context.WithCancel(context.Background())
	go c.src.Run(sctx)
	c.src.Add(call.Media())
	now := time.Now()
	c.lastMove, c.secStart = now, now
	return c, nil
}

// callID is the canary's Call-ID, to find it in the daemon's API.
func (c *canary) callID() string { return c.call.ID.CallID }

// canarySample is how often the canary's packet count is read: the
// resolution of its longest silence.
const canarySample = 50 * time.Millisecond

// watch samples the received-packet count every canarySample until ctx
// ends: the longest time it did not grow (silence), and packets per
// whole second. It also measures its own stalls (a sample taken late):
// when a silence is no longer than the sampler's own stall, the pause was
// in this process or the machine, not necessarily in the daemon.
func (c *canary) watch(ctx context.Context) {
	t := time.NewTicker(canarySample)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			c.sample(time.Now())
			return
		case <-t.C:
			c.sample(time.Now())
		}
	}
}

func (c *canary) sample(now time.Time) {
	n := c.call.Media().PacketsReceived()
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.call.Done():
		c.ended = true
	default:
	}
	if !c.lastSample.IsZero() {
		c.ownStall = max(c.ownStall, now.Sub(c.lastSample)-canarySample)
	}
	c.lastSample = now
	if n != c.lastSeen {
		c.lastSeen, c.lastMove = n, now
	}
	if gap := now.Sub(c.lastMove); gap > c.maxGap {
		c.maxGap, c.maxGapEnd = gap, now
	}
	if el := now.Sub(c.secStart); el >= time.Second {
		c.rates = append(c.rates, float64(n-c.secCount)/el.Seconds())
		c.secStart, c.secCount = now, n
	}
}

// startRun ends the warm-up: what was measured so far is kept apart, as
// the baseline of a quiet daemon on this machine.
func (c *canary) startRun(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.warmupGap, c.warmupStall = c.maxGap, c.ownStall
	c.maxGap, c.ownStall, c.rates = 0, 0, nil
	c.secStart, c.secCount, c.runStart = now, c.lastSeen, now
	c.runPackets = c.lastSeen
}

// result fills the canary part of the report.
func (c *canary) result(r *Report) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r.Canary = true
	r.CanaryPackets = c.lastSeen - c.runPackets
	r.CanaryMaxSilence = c.maxGap.Round(time.Millisecond).String()
	r.canaryMaxSilence = c.maxGap
	if c.maxGap > 0 {
		r.CanarySilenceAt = (c.maxGapEnd.Sub(c.runStart) - c.maxGap).Round(100 * time.Millisecond).String()
	}
	r.CanaryOwnStall = c.ownStall.Round(time.Millisecond).String()
	r.canaryOwnStall = c.ownStall
	r.CanaryWarmupSilence = c.warmupGap.Round(time.Millisecond).String()
	r.CanaryCallEnded = c.ended
	if len(c.rates) == 0 {
		return
	}
	lo, sum := math.Inf(1), 0.0
	for _, v := range c.rates {
		lo = min(lo, v)
		sum += v
	}
	r.CanaryRateMin = math.Round(lo*10) / 10
	r.CanaryRateAvg = math.Round(sum/float64(len(c.rates))*10) / 10
}

// hangup ends the canary call and its user agent.
func (c *canary) hangup() {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	c.call.Hangup(ctx, "sipfuzz done")
	c.stopFn()
	c.ep.Shutdown(ctx)
}

// canaryHandler refuses everything: nobody calls the canary.
type canaryHandler struct{}

func (canaryHandler) HandleInvite(_ context.Context, inv *sipcore.Invite) {
	inv.Reject(486, "Busy Here", "the canary takes no calls")
}
func (canaryHandler) CallEnded(*sipcore.Call, sipcore.EndReason) {}
func (canaryHandler) ResolveSubscription(*sipcore.SubscribeRequest) (string, bool) {
	return "", false
}
func (canaryHandler) SubscriptionsChanged(string) {}
