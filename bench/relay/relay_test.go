package main

import (
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// TestRelaysCarryEachPhoneToItsPartner sends from both phones of one call
// through each relayer and checks that each phone hears the other.
func TestRelaysCarryEachPhoneToItsPartner(t *testing.T) {
	for _, tc := range []struct {
		name string
		make func(t *testing.T) relayer
	}{
		{"floor", func(t *testing.T) relayer { return &floorRelay{} }},
		{"parkd", func(t *testing.T) relayer {
			r, err := newParkdRelay("36000-36099")
			if err != nil {
				t.Fatal(err)
			}
			return r
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ph, err := openPhones(2, 2)
			if err != nil {
				t.Fatal(err)
			}
			defer ph.close()
			if len(ph.probes) != 2 {
				t.Fatalf("%d probes, want both phones reading", len(ph.probes))
			}
			addrs, err := ph.addrs()
			if err != nil {
				t.Fatal(err)
			}
			r := tc.make(t)
			local, err := r.open(addrs)
			if err != nil {
				t.Fatal(err)
			}
			defer r.close()
			r.start()
			if err := ph.connect(local); err != nil {
				t.Fatal(err)
			}
			// One direction at a time, so a relay that echoed a packet to
			// its sender would be caught.
			for from := range 2 {
				to := 1 - from
				for _, p := range ph.probes {
					p.Reset()
				}
				for seq := range 10 {
					pkt := rtpPacket(uint16(seq))
					if _, err := unix.Write(ph.fds[from], pkt); err != nil {
						t.Fatal(err)
					}
					time.Sleep(5 * time.Millisecond)
				}
				deadline := time.Now().Add(5 * time.Second)
				for time.Now().Before(deadline) && ph.probes[to].Count() < 10 {
					time.Sleep(10 * time.Millisecond)
				}
				if n := ph.probes[to].Count(); n != 10 {
					t.Errorf("phone %d heard %d of phone %d's 10 packets", to, n, from)
				}
				if n := ph.probes[from].Count(); n != 0 {
					t.Errorf("phone %d heard %d packets while only it spoke", from, n)
				}
			}
			if n := r.relayed(); n != 20 {
				t.Errorf("relayed() = %d, want the 20 sent", n)
			}
		})
	}
}

// rtpPacket is a 20 ms PCMU packet with sequence number seq.
func rtpPacket(seq uint16) []byte {
	pkt := make([]byte, packetLen)
	pkt[0] = 0x80
	pkt[2], pkt[3] = byte(seq>>8), byte(seq)
	ts := uint32(seq) * 160
	pkt[4], pkt[5], pkt[6], pkt[7] = byte(ts>>24), byte(ts>>16), byte(ts>>8), byte(ts)
	pkt[11] = 7
	return pkt
}

func TestParkdRelayRejectsABadPortRange(t *testing.T) {
	for _, ports := range []string{"", "20000", "a-b", "20000-"} {
		if _, err := newParkdRelay(ports); err == nil {
			t.Errorf("newParkdRelay(%q) = nil error, want one", ports)
		}
	}
}
