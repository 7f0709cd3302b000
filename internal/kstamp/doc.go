// Package kstamp reads UDP datagrams with the time the kernel received
// them (SO_TIMESTAMPNS), for benchmarks whose receivers share the CPU with
// what they measure: the arrival time is then when the packet reached the
// socket, not when the receiver got round to reading it. Where the kernel
// gives no stamp, the time of the read stands in.
package kstamp
