package main

import (
	"log/slog"
	"net"
	"strings"
	"sync"
)

// sdNotifier tells systemd (Type=notify) when parkd is ready and when it
// starts stopping, over the datagram socket named by NOTIFY_SOCKET. It
// speaks the protocol directly rather than pulling in a library: one
// datagram of newline-separated KEY=value lines per state change.
type sdNotifier struct {
	addr *net.UnixAddr // nil: not run by systemd, every notify is a no-op
	log  *slog.Logger
	once sync.Once // failures are logged once: the daemon runs on without systemd's view
}

// newSDNotifier reads NOTIFY_SOCKET from getenv. A leading '@' names a
// Linux abstract socket; Go's syscall package turns it into the NUL
// prefix, so the value is used as given.
func newSDNotifier(getenv func(string) string, log *slog.Logger) *sdNotifier {
	n := &sdNotifier{log: log}
	if path := getenv("NOTIFY_SOCKET"); path != "" {
		n.addr = &net.UnixAddr{Name: path, Net: "unixgram"}
	}
	return n
}

// notify sends the state lines as one datagram. It never fails the
// caller: systemd missing a READY=1 is its own timeout to report.
func (n *sdNotifier) notify(lines ...string) {
	if n.addr == nil {
		return
	}
	err := n.send(strings.Join(lines, "\n") + "\n")
	if err != nil {
		n.once.Do(func() {
			n.log.Warn("sd_notify failed", "socket", n.addr.Name, "error", err)
		})
	}
}

func (n *sdNotifier) send(msg string) error {
	conn, err := net.DialUnix("unixgram", nil, n.addr)
	if err != nil {
		return err
	}
	defer conn.Close()
	_, err = conn.Write([]byte(msg))
	return err
}
