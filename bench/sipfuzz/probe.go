package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// daemonProbe watches the daemon from outside: is it alive, how much
// memory does it hold, how much has it logged.
type daemonProbe struct {
	pid     int
	logPath string

	mu        sync.Mutex
	rssStart  int64 // KiB
	rssPeak   int64 // KiB, the highest sample or VmHWM
	rssEnd    int64
	logStart  int64 // bytes
	logEnd    int64
	diedAt    time.Time
	deathNote string
}

// procStatus reads VmRSS, VmHWM (KiB) and the state letter of pid.
func procStatus(pid int) (rss, hwm int64, state string, err error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, 0, "", err
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(val)
		if len(fields) == 0 {
			continue
		}
		switch name {
		case "VmRSS":
			rss, _ = strconv.ParseInt(fields[0], 10, 64)
		case "VmHWM":
			hwm, _ = strconv.ParseInt(fields[0], 10, 64)
		case "State":
			state = fields[0]
		}
	}
	return rss, hwm, state, nil
}

// alive is false once the process is gone or a zombie: a daemon started by
// the campaign script stays a zombie until the script waits for it, and
// kill(pid, 0) still succeeds on a zombie.
func (p *daemonProbe) alive() bool {
	_, _, state, err := procStatus(p.pid)
	return err == nil && state != "Z" && state != "X"
}

func fileSize(path string) int64 {
	if path == "" {
		return 0
	}
	st, err := os.Stat(path)
	if err != nil {
		return 0
	}
	return st.Size()
}

// start records the baseline; false when the daemon is not running.
func (p *daemonProbe) start() error {
	rss, _, state, err := procStatus(p.pid)
	if err != nil || state == "Z" {
		return fmt.Errorf("daemon pid %d is not running", p.pid)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rssStart, p.rssPeak, p.rssEnd = rss, rss, rss
	p.logStart = fileSize(p.logPath)
	p.logEnd = p.logStart
	return nil
}

// sample takes one reading; it notes the moment the daemon died.
func (p *daemonProbe) sample() {
	rss, hwm, state, err := procStatus(p.pid)
	p.mu.Lock()
	defer p.mu.Unlock()
	if err != nil || state == "Z" || state == "X" {
		if p.diedAt.IsZero() {
			p.diedAt = time.Now()
			if err != nil {
				p.deathNote = "process gone"
			} else {
				p.deathNote = "zombie (exited, not yet reaped)"
			}
		}
		return
	}
	p.rssEnd = rss
	p.rssPeak = max(p.rssPeak, rss, hwm)
	p.logEnd = fileSize(p.logPath)
}

// run samples every interval until ctx ends.
func (p *daemonProbe) run(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			p.sample()
			return
		case <-t.C:
			p.sample()
		}
	}
}

// result fills the daemon part of the report.
func (p *daemonProbe) result(r *Report) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r.DaemonAlive = p.diedAt.IsZero()
	if !r.DaemonAlive {
		r.DaemonDied = p.deathNote
	}
	r.RSSStartKiB, r.RSSPeakKiB, r.RSSEndKiB = p.rssStart, p.rssPeak, p.rssEnd
	r.LogBytes = p.logEnd - p.logStart
}
