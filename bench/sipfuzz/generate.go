package main

import (
	"math/rand/v2"
)

// How a message travels to the daemon.
const (
	viaUDP      = "udp"
	viaTCPNew   = "tcp-new"   // a fresh connection for this message alone
	viaTCPReuse = "tcp-reuse" // the source's long-lived connection, shared with earlier messages
)

// maxUDPPayload is the most a UDP datagram over IPv4 carries; bigger
// messages are cut to it (a real sender could not do better).
const maxUDPPayload = 65507

// Message is one fuzz message, ready to send.
type Message struct {
	Index     int
	Kind      string   // the seed it started from
	Mutations []string // what was done to it, in order; empty = sent as built
	Transport string   // viaUDP, viaTCPNew or viaTCPReuse
	Source    int      // index into Target.SourceIPs
	Bytes     []byte
}

// Generate builds message index of the campaign seed. Everything about it
// (text, transport, source) comes from a random source seeded with (seed,
// index) alone, so one message can be rebuilt without the others, and a
// campaign is the same whatever the timing.
func Generate(seed uint64, index int, t Target) Message {
	r := rand.New(rand.NewPCG(seed, uint64(index)))
	m := Message{Index: index}
	if len(t.SourceIPs) > 0 {
		m.Source = r.IntN(len(t.SourceIPs))
	}
	switch n := r.IntN(10); {
	case n < 6:
		m.Transport = viaUDP
	case n < 8:
		m.Transport = viaTCPNew
	default:
		m.Transport = viaTCPReuse
	}
	g := &gen{r: r, t: t, invalidHosts: r.IntN(5) == 0}
	if len(t.SourceIPs) > 0 {
		g.src = t.SourceIPs[m.Source]
	} else {
		g.src = "127.0.0.1"
	}
	seedKind := seedKinds[r.IntN(len(seedKinds))]
	m.Kind = seedKind.name
	msg := []byte(seedKind.build(g))

	// One in ten goes out intact: the daemon's normal paths run under the
	// same load as the broken ones.
	if r.IntN(10) != 0 {
		for range 1 + r.IntN(3) {
			mu := mutations[r.IntN(len(mutations))]
			msg = mu.apply(r, msg)
			m.Mutations = append(m.Mutations, mu.name)
		}
	}
	if m.Transport == viaUDP && len(msg) > maxUDPPayload {
		msg = msg[:maxUDPPayload]
	}
	m.Bytes = msg
	return m
}
