package main

import (
	"context"
	"net"
	"net/netip"
	"runtime"
	"sync"
	"time"
)

// goFloor is the floor written with Go's net package: the same connected
// sockets and pacing, but each socket is in the runtime's network poller
// as parkd's are. The difference to "floor" is what Go's poller costs a
// sender; the difference to "parkd" is what parkd adds on top.
type goFloor struct {
	conns []*net.UDPConn
}

func newGoFloor(targets []netip.AddrPort) (*goFloor, error) {
	f := &goFloor{}
	for _, to := range targets {
		c, err := net.DialUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)}, net.UDPAddrFromAddrPort(to))
		if err != nil {
			f.close()
			return nil, err
		}
		f.conns = append(f.conns, c)
	}
	return f, nil
}

func (f *goFloor) close() {
	for _, c := range f.conns {
		c.Close()
	}
}

func (f *goFloor) run(ctx context.Context) {
	senders := runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	per := (len(f.conns) + senders - 1) / senders
	for lo := 0; lo < len(f.conns); lo += per {
		part := f.conns[lo:min(lo+per, len(f.conns))]
		wg.Go(func() {
			var pkt [packetLen]byte
			pkt[0] = 0x80
			timer := time.NewTimer(0)
			defer timer.Stop()
			start := time.Now()
			for n := 0; ; n++ {
				for i := n % phases; i < len(part); i += phases {
					part[i].Write(pkt[:])
				}
				timer.Reset(time.Until(start.Add(time.Duration(n+1) * 20 * time.Millisecond / phases)))
				select {
				case <-ctx.Done():
					return
				case <-timer.C:
				}
			}
		})
	}
	wg.Wait()
}
