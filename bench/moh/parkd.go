package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/parkd/parkd/sipcore/media"
)

// parkdMOH is parkd's music on hold as the daemon runs it: one session per
// parked call from the real port allocator, read loop started, on the
// builtin source's ticker. Only SIP is missing.
type parkdMOH struct {
	alloc    *media.Allocator
	src      *media.Source
	sessions []*media.Session
}

func newParkdMOH(targets []netip.AddrPort, ports string) (*parkdMOH, error) {
	var lo, hi int
	if _, err := fmt.Sscanf(ports, "%d-%d", &lo, &hi); err != nil {
		return nil, fmt.Errorf("-rtp-ports %q: %w", ports, err)
	}
	alloc, err := media.NewAllocator(netip.MustParseAddr("127.0.0.1"), lo, hi)
	if err != nil {
		return nil, err
	}
	m := &parkdMOH{alloc: alloc, src: media.NewBuiltinSource()}
	for _, to := range targets {
		s, err := alloc.Open(slog.New(slog.DiscardHandler))
		if err != nil {
			m.close()
			return nil, fmt.Errorf("session %d: %w", len(m.sessions)+1, err)
		}
		m.sessions = append(m.sessions, s)
		s.SetRemote(to, media.Format{Codec: media.PCMU, AudioPT: 0})
		s.Start(0, nil)
		m.src.Add(s)
	}
	return m, nil
}

func (m *parkdMOH) run(ctx context.Context) { m.src.Run(ctx) }

func (m *parkdMOH) close() {
	for _, s := range m.sessions {
		s.Close()
	}
	// Its kept sockets hold the ports the next window's allocator needs.
	m.alloc.Close()
}
