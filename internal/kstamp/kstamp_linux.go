package kstamp

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"time"

	"golang.org/x/sys/unix"
)

// OOBSize is room enough for the timestamp's control message.
const OOBSize = 64

// Enable asks the kernel to stamp every datagram conn receives.
func Enable(conn *net.UDPConn) error {
	raw, err := conn.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := raw.Control(func(fd uintptr) {
		serr = unix.SetsockoptInt(int(fd), unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1)
	}); err != nil || serr != nil {
		return errors.Join(err, serr)
	}
	return nil
}

// Read reads one datagram into buf, using oob (OOBSize bytes) for the
// control message, and returns when it arrived.
func Read(conn *net.UDPConn, buf, oob []byte) (n int, from netip.AddrPort, at time.Time, err error) {
	n, oobn, _, from, err := conn.ReadMsgUDPAddrPort(buf, oob)
	if err != nil {
		return 0, from, time.Time{}, err
	}
	if at, ok := FromControl(oob[:oobn]); ok {
		return n, from, at, nil
	}
	return n, from, time.Now(), nil
}

// FromControl finds the timestamp among a datagram's control messages,
// without allocating: parkd's SIP socket reads every datagram through it.
func FromControl(oob []byte) (time.Time, bool) {
	for len(oob) > 0 {
		h, data, rest, err := unix.ParseOneSocketControlMessage(oob)
		if err != nil {
			return time.Time{}, false
		}
		if h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS && len(data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(data[8:16]))
			return time.Unix(sec, nsec), true
		}
		oob = rest
	}
	return time.Time{}, false
}
