// Command setupfloor is the floor for issue 14's call-setup target: the
// least a parking server does for bench/loadgen's park-then-retrieve
// pairs, in one thread, so that parkd's INVITE→200 latency and CPU per
// pair can be set beside what this machine gives any server at the same
// moments. A call to the park extension is answered and hears 50
// packets/s of silence; a call to the retrieve extension is answered and
// bridged to the longest-waiting parked call, whose audio it relays; a
// BYE from either ends both. Nothing is retransmitted, stored, logged or
// watched, no header is checked beyond what routing needs, and every SIP
// datagram is read before the audio of the same wake-up, so an INVITE
// never waits behind a round of relaying. Where it does less than parkd,
// beyond that: it bridges at the 200, not at the ACK (so its relayed
// audio starts sooner), sends its BYE once, and opens a fresh RTP socket
// on an ephemeral port for every call. INVITE→200 latency and CPU per
// pair compare; time to bridge does not.
//
// It takes parkd's command line, so bench/loadgen.sh and
// bench/loadgen_pair.sh run it in parkd's place (FLOOR=1 and B=floor):
//
//	setupfloor serve --sip udp://127.0.0.1:25060 [--config F --data D ...]
//
// Only --sip is read; the rest of parkd's flags are accepted and ignored.
// It is Linux only (epoll, timerfd), like the load scripts, and a
// benchmark for loopback, not a server: it bounds nothing (calls,
// sockets) and must not face a network.
package main

import (
	"flag"
	"fmt"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && (os.Args[1] == "--version" || os.Args[1] == "version") {
		fmt.Println("setupfloor (bench/setupfloor): the call-setup floor, not parkd")
		return
	}
	if len(os.Args) < 2 || os.Args[1] != "serve" {
		fmt.Fprintln(os.Stderr, "usage: setupfloor serve --sip udp://ADDR:PORT [parkd's other serve flags, ignored]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("serve", flag.ExitOnError)
	sip := fs.String("sip", "udp://127.0.0.1:5060", "the SIP address, as parkd's --sip (UDP only)")
	park := fs.String("park", "700", "the park extension")
	retrieve := fs.String("retrieve", "*700", "the retrieve extension (the longest-waiting call)")
	useRing := fs.Bool("uring", true, "batch RTP reads and sends through io_uring, as parkd does (false: one system call each)")
	for _, ignored := range []string{"config", "data", "log-format", "log-level", "api", "moh"} {
		fs.String(ignored, "", "parkd's flag, ignored")
	}
	fs.Parse(os.Args[2:])
	addr, err := netip.ParseAddrPort(strings.TrimPrefix(*sip, "udp://"))
	if err != nil || !strings.HasPrefix(*sip, "udp://") {
		fatal(fmt.Errorf("--sip %q: want udp://IP:PORT", *sip))
	}
	f, err := newFloor(addr, *park, *retrieve, *useRing)
	if err != nil {
		fatal(err)
	}
	var stop atomic.Bool
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, syscall.SIGTERM, syscall.SIGINT)
	go func() {
		<-signals
		stop.Store(true)
	}()
	if err := f.run(&stop); err != nil {
		fatal(err)
	}
	f.close()
	fmt.Fprintf(os.Stderr, "setupfloor: %d calls answered, %d packets relayed, %d music packets, %d datagrams not SIP\n",
		f.answered, f.relayed, f.played, f.unparsed)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "setupfloor:", err)
	os.Exit(1)
}
