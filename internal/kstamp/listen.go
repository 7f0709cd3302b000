package kstamp

import "net"

// ListenLoopback opens a UDP socket on 127.0.0.1, at a port the kernel
// picks, that stamps what it receives: a benchmark's sampled receiver.
func ListenLoopback() (*net.UDPConn, error) {
	conn, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		return nil, err
	}
	if err := Enable(conn); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}
