package main

import (
	"context"
	"fmt"
	"time"
)

// floodOptions sends OPTIONS over UDP at rate per second for d, round
// robin over the sources, each a new transaction (own branch and Call-ID)
// as a scanner sends them. It returns how many went out; the pacing
// catches up after a stall instead of dropping the deficit, but never
// sends ahead.
func floodOptions(ctx context.Context, s *sender, t Target, rate int, d time.Duration) int {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	buf := make([]byte, 0, 512)
	start := time.Now()
	tick := time.NewTicker(2 * time.Millisecond)
	defer tick.Stop()
	sent, total := 0, int(float64(rate)*d.Seconds())
	for {
		select {
		case <-ctx.Done():
			return sent
		case now := <-tick.C:
			due := min(total, int(now.Sub(start).Seconds()*float64(rate)))
			for ; sent < due; sent++ {
				src := s.sources[sent%len(s.sources)]
				buf = appendOptions(buf[:0], t, src.ip.String(), sent)
				if _, err := src.udp.WriteToUDPAddrPort(buf, s.daemon); err != nil {
					s.stats.count(s.stats.failed, "udp write: "+errKind(err), 1)
					continue
				}
				s.stats.noteSent(viaUDP, len(buf))
			}
		}
	}
}

// appendOptions is the flood's OPTIONS number n from src.
func appendOptions(b []byte, t Target, src string, n int) []byte {
	return fmt.Appendf(b, "OPTIONS sip:%s@%s:%d SIP/2.0\r\n"+
		"Via: SIP/2.0/UDP %s:5060;rport;branch=z9hG4bKflood%d\r\n"+
		"Max-Forwards: 70\r\n"+
		"From: <sip:flood@%s>;tag=f%d\r\n"+
		"To: <sip:%s@%s:%d>\r\n"+
		"Call-ID: flood-%d@%s\r\n"+
		"CSeq: 1 OPTIONS\r\n"+
		"User-Agent: parkd-sipfuzz-flood\r\n"+
		"Content-Length: 0\r\n\r\n",
		t.ParkExt, t.Host, t.Port, src, n, src, n, t.ParkExt, t.Host, t.Port, n, src)
}
