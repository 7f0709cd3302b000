package main

import (
	"net"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// sink is a receiver that never reads: the kernel drops what overflows its
// buffer, which costs the sender what a remote phone would.
func newSink() (*net.UDPConn, error) {
	return net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
}

func cpuTime() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_SELF, &ru); err != nil {
		fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func fatal(err error) {
	os.Stderr.WriteString("bench/moh: " + err.Error() + "\n")
	os.Exit(2)
}
