// Package mmsg moves UDP datagrams a batch per system call: Writer sends
// a BLF fan-out's NOTIFYs, each to its own address, with one sendmmsg(2)
// (parkd's and bench/blffloor's alike), and Reader takes what is queued on
// the SIP socket with one recvmmsg(2) and hands it out a datagram at a
// time.
package mmsg

import "golang.org/x/net/ipv4"

// Writer is sendmmsg on one UDP socket. It returns how many messages went
// out, which may stop short of len(ms) without an error (a full send
// buffer, or a message the kernel refuses); an error only when none did.
// ipv4.Message serves IPv6 sockets too (x/net's ipv6.Message is the same
// type). Safe for concurrent use.
type Writer interface {
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}
