// Package mmsg writes a batch of UDP datagrams, each to its own address,
// with one sendmmsg(2): a BLF fan-out's NOTIFYs, and the same fan-out in
// bench/blffloor.
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
