package main

import (
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"golang.org/x/sys/unix"
)

// reloadOnSIGHUP re-reads the config on every SIGHUP, as `parkd ctl
// reload` does, telling systemd (RELOADING=1, then READY=1) so that
// `systemctl reload` waits for it. Go's default for SIGHUP would end the
// process and drop every call. The returned function stops listening.
func reloadOnSIGHUP(d *runningDaemon, sd *sdNotifier) func() {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-d.ctx.Done():
				return
			case <-hup:
			}
			d.log.Info("SIGHUP: reloading the config")
			sd.notify("RELOADING=1", fmt.Sprintf("MONOTONIC_USEC=%d", monotonicMicros()))
			// Reload logs what it did, or why it refused.
			_, _ = d.srv.Reload(d.ctx)
			sd.notify("READY=1", "STATUS="+d.status())
		}
	}()
	return func() {
		signal.Stop(hup)
		<-done
	}
}

// monotonicMicros is CLOCK_MONOTONIC in µs, which systemd wants beside
// RELOADING=1 to tell this reload from an older one.
func monotonicMicros() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return time.Now().UnixMicro()
	}
	return ts.Nano() / 1000
}
