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
	if at, ok := stamp(oob[:oobn]); ok {
		return n, from, at, nil
	}
	return n, from, time.Now(), nil
}

func stamp(oob []byte) (time.Time, bool) {
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return time.Time{}, false
	}
	for _, m := range msgs {
		if m.Header.Level == unix.SOL_SOCKET && m.Header.Type == unix.SCM_TIMESTAMPNS && len(m.Data) >= 16 {
			sec := int64(binary.NativeEndian.Uint64(m.Data[0:8]))
			nsec := int64(binary.NativeEndian.Uint64(m.Data[8:16]))
			return time.Unix(sec, nsec), true
		}
	}
	return time.Time{}, false
}
