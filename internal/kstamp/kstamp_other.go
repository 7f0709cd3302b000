//go:build !linux

package kstamp

import (
	"net"
	"net/netip"
	"time"
)

// OOBSize is room enough for the timestamp's control message.
const OOBSize = 64

// Enable does nothing here: Read stamps datagrams when it reads them.
func Enable(conn *net.UDPConn) error { return nil }

// Read reads one datagram into buf and returns the time it was read.
func Read(conn *net.UDPConn, buf, oob []byte) (n int, from netip.AddrPort, at time.Time, err error) {
	n, from, err = conn.ReadFromUDPAddrPort(buf)
	return n, from, time.Now(), err
}

// FromControl finds no timestamp here: the kernel gives none.
func FromControl(oob []byte) (time.Time, bool) { return time.Time{}, false }
