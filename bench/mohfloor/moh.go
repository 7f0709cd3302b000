package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/parkd/parkd/sipcore/media"
)

// runMOH is parkd's music on hold alone, without SIP: sessions from the
// real allocator, each latched to its own receiver exactly as a parked
// call is (SetRemote to the phone's SDP address, PCMU/PCMA alternating),
// started (their read goroutines wait as in a parked call) and added to
// one source that runs until ctx ends.
func runMOH(ctx context.Context, r *rig, portRange string) error {
	var low, high int
	if _, err := fmt.Sscanf(portRange, "%d-%d", &low, &high); err != nil {
		return fmt.Errorf("-rtp-ports %q: %w", portRange, err)
	}
	alloc, err := media.NewAllocator(netip.MustParseAddr("127.0.0.1"), low, high)
	if err != nil {
		return err
	}
	log := slog.New(slog.DiscardHandler)
	src := media.NewSourceFromPCM("bench", tone())
	src.SetLogger(log)
	rss0 := rssBytes()
	sessions := make([]*media.Session, 0, len(r.recv))
	defer func() {
		for _, s := range sessions {
			s.Close()
		}
	}()
	for i := range r.recv {
		s, err := alloc.Open(log)
		if err != nil {
			return err
		}
		sessions = append(sessions, s)
		codec := media.PCMU
		if i%2 == 1 {
			codec = media.PCMA
		}
		s.SetRemote(r.addr(i), media.Format{Codec: codec, AudioPT: uint8(codec)})
		s.Start(0, nil)
		src.Add(s)
	}
	done := make(chan struct{})
	go func() { defer close(done); src.Run(ctx) }()
	time.Sleep(time.Second) // the read goroutines and the fan-out settle
	perListener := float64(rssBytes()-rss0) / float64(len(sessions)) / 1024
	r.note = fmt.Sprintf("RSS growth %.1f KiB per listener (sessions, their read goroutines and MOH state; the receivers' sockets are kernel memory)", perListener)
	close(r.ready)
	// Count what the sessions say they sent, as the floor counts its writes.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var last uint64
	for {
		select {
		case <-ctx.Done():
			<-done
			return nil
		case <-tick.C:
			var total uint64
			for _, s := range sessions {
				total += s.PacketsSent()
			}
			r.sent.Add(total - last)
			last = total
		}
	}
}

// rssBytes is the process's resident set (VmRSS), 0 if unknown.
func rssBytes() int64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if kb, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			var n int64
			fmt.Sscanf(strings.TrimSpace(kb), "%d", &n)
			return n * 1024
		}
	}
	return 0
}

// tone is 1 s of a 440 Hz square-ish wave: real audio bytes, so both
// G.711 encodings are exercised like a real loop.
func tone() []int16 {
	pcm := make([]int16, 8000)
	for i := range pcm {
		if (i*440/8000)%2 == 0 {
			pcm[i] = 8000
		} else {
			pcm[i] = -8000
		}
	}
	return pcm
}
