package main

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"maps"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
)

// The fuzz messages name their sources as phones at SOURCE:5060 (Via,
// Contact). decoys listen there, UDP and TCP, and count what the daemon
// sends to those addresses on its own (ACK, BYE, NOTIFY, retransmitted
// responses): traffic a forged message can aim at a third party.
type decoys struct {
	stats   *traffic
	udp     []*net.UDPConn
	tcp     []*net.TCPListener
	mu      sync.Mutex
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
	closing bool
}

const phonePort = 5060

// maxDecoyConns bounds the connections the daemon may hold open to decoys.
const maxDecoyConns = 100

func startDecoys(ips []netip.Addr, stats *traffic, log *slog.Logger) *decoys {
	d := &decoys{stats: stats, conns: map[net.Conn]struct{}{}}
	seen := map[netip.Addr]bool{}
	for _, ip := range ips {
		if seen[ip] {
			continue
		}
		seen[ip] = true
		ap := netip.AddrPortFrom(ip, phonePort)
		if u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(ap)); err == nil {
			d.udp = append(d.udp, u)
			d.wg.Add(1)
			go d.readUDP(u)
		} else {
			log.Warn("no decoy phone", "addr", ap, "error", err)
		}
		if l, err := net.ListenTCP("tcp", net.TCPAddrFromAddrPort(ap)); err == nil {
			d.tcp = append(d.tcp, l)
			d.wg.Add(1)
			go d.accept(l)
		} else {
			log.Warn("no decoy phone", "addr", "tcp:"+ap.String(), "error", err)
		}
	}
	return d
}

func (d *decoys) readUDP(u *net.UDPConn) {
	defer d.wg.Done()
	buf := make([]byte, 65536)
	for {
		n, err := u.Read(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		d.stats.notePhone(buf[:n])
	}
}

func (d *decoys) accept(l *net.TCPListener) {
	defer d.wg.Done()
	for {
		c, err := l.Accept()
		if err != nil {
			return
		}
		d.mu.Lock()
		if d.closing || len(d.conns) >= maxDecoyConns {
			d.mu.Unlock()
			c.Close()
			continue
		}
		d.conns[c] = struct{}{}
		d.mu.Unlock()
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			var f framer
			buf := make([]byte, 16<<10)
			for {
				n, err := c.Read(buf)
				for _, msg := range f.feed(buf[:n]) {
					d.stats.notePhone(msg)
				}
				if err != nil {
					break
				}
			}
			c.Close()
			d.mu.Lock()
			delete(d.conns, c)
			d.mu.Unlock()
		}()
	}
}

func (d *decoys) close() {
	d.mu.Lock()
	d.closing = true
	for c := range d.conns {
		c.Close()
	}
	d.mu.Unlock()
	for _, u := range d.udp {
		u.Close()
	}
	for _, l := range d.tcp {
		l.Close()
	}
	d.wg.Wait()
}

// dnsCatcher stands in for the name servers of /etc/resolv.conf inside
// the namespace: it records every query the daemon makes and answers
// NXDOMAIN at once, so a lookup costs the daemon no timeout. Any query at
// all is a name the daemon chose to resolve.
type dnsCatcher struct {
	conns []*net.UDPConn
	mu    sync.Mutex
	count int
	names map[string]int
	types map[string]int
	wg    sync.WaitGroup
}

// maxDNSNames bounds the distinct names kept for the report.
const maxDNSNames = 1000

func startDNSCatcher(addrs []netip.AddrPort) (*dnsCatcher, error) {
	c := &dnsCatcher{names: map[string]int{}, types: map[string]int{}}
	for _, a := range addrs {
		u, err := net.ListenUDP("udp", net.UDPAddrFromAddrPort(a))
		if err != nil {
			c.close()
			return nil, err
		}
		c.conns = append(c.conns, u)
		c.wg.Add(1)
		go c.serve(u)
	}
	return c, nil
}

func (c *dnsCatcher) serve(u *net.UDPConn) {
	defer c.wg.Done()
	buf := make([]byte, 4096)
	for {
		n, from, err := u.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		name, reply, ok := nxdomain(buf[:n])
		c.mu.Lock()
		c.count++
		qtype, _, _ := strings.Cut(name, " ")
		c.types[qtype]++
		if len(c.names) < maxDNSNames || c.names[name] > 0 {
			c.names[name]++
		}
		c.mu.Unlock()
		if ok {
			_, _ = u.WriteToUDPAddrPort(reply, from)
		}
	}
}

// nxdomain reads the first question of a DNS query ("SRV _sip._udp.x"
// style: type and name) and builds the NXDOMAIN answer to it.
func nxdomain(q []byte) (name string, reply []byte, ok bool) {
	if len(q) < 12 || binary.BigEndian.Uint16(q[4:6]) == 0 {
		return "(malformed)", nil, false
	}
	var labels []string
	i := 12
	for {
		if i >= len(q) {
			return "(malformed)", nil, false
		}
		l := int(q[i])
		if l == 0 {
			i++
			break
		}
		if l&0xc0 != 0 || i+1+l > len(q) {
			return "(malformed)", nil, false
		}
		labels = append(labels, string(q[i+1:i+1+l]))
		i += 1 + l
	}
	if i+4 > len(q) {
		return "(malformed)", nil, false
	}
	qtype := binary.BigEndian.Uint16(q[i : i+2])
	name = qtypeName(qtype) + " " + strings.Join(labels, ".")
	reply = append([]byte{}, q[:i+4]...)
	reply[2] = 0x80 | (q[2] & 0x79) // QR, opcode and RD copied
	reply[3] = 0x80 | 3             // RA, NXDOMAIN
	binary.BigEndian.PutUint16(reply[4:6], 1)
	clear(reply[6:12]) // no answer, authority or additional records
	return name, reply, true
}

func qtypeName(t uint16) string {
	switch t {
	case 1:
		return "A"
	case 28:
		return "AAAA"
	case 33:
		return "SRV"
	case 35:
		return "NAPTR"
	}
	return "TYPE" + strconv.Itoa(int(t))
}

func (c *dnsCatcher) close() {
	for _, u := range c.conns {
		u.Close()
	}
	c.wg.Wait()
}

// result is the number of queries and up to ten names, most asked first.
func (c *dnsCatcher) result(r *Report) {
	c.mu.Lock()
	defer c.mu.Unlock()
	r.DNSQueries = c.count
	r.DNSNames = len(c.names)
	r.DNSTypes = maps.Clone(c.types)
	top := map[string]int{}
	for k, v := range c.names {
		top[k] = v
	}
	r.DNSSample = topN(top, 5)
}
