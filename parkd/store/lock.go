package store

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// LockFileName is the lock file in the data directory: it holds the PID
// of the parkd that owns the directory. Two daemons on one store would
// each think they own every slot's history and each other's overrides.
const LockFileName = "parkd.lock"

// DirLock is a data directory held by this process. The lock is an
// advisory flock on LockFileName: the kernel drops it when the process
// dies, however it dies, so a kill -9 leaves no stale lock behind.
type DirLock struct {
	f    *os.File
	path string
}

// LockedError says the data directory belongs to another running process.
type LockedError struct {
	Dir     string
	PID     int    // 0 when the owner has not written it yet
	Command string // the owner's command line, "" when /proc does not show it
}

func (e *LockedError) Error() string {
	who := "another process"
	if e.PID > 0 {
		who = fmt.Sprintf("another parkd (pid %d", e.PID)
		if e.Command != "" {
			who += ": " + e.Command
		}
		who += ")"
	}
	return fmt.Sprintf("data directory %s is in use by %s; stop it first, or give this parkd its own data directory (--data)", e.Dir, who)
}

// LockDir creates dir (0700) if needed and takes its lock, or returns a
// *LockedError naming the process that holds it.
func LockDir(dir string) (*DirLock, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("store: data directory %s: %w", dir, err)
	}
	if err := os.MkdirAll(abs, 0o700); err != nil {
		return nil, fmt.Errorf("store: cannot create data directory %s: %w", abs, unwrapPathError(err))
	}
	path := filepath.Join(abs, LockFileName)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("store: lock file %s: %w", path, unwrapPathError(err))
	}
	held, err := tryLock(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: locking %s: %w", path, err)
	}
	if !held {
		pid := readPID(f)
		f.Close()
		return nil, &LockedError{Dir: abs, PID: pid, Command: commandLine(pid)}
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("store: writing %s: %w", path, err)
	}
	return &DirLock{f: f, path: path}, nil
}

// Unlock releases the directory. The file stays: removing it would let a
// process that opened it just before lock a file nobody else sees.
func (l *DirLock) Unlock() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

func readPID(f *os.File) int {
	buf := make([]byte, 32)
	n, _ := f.ReadAt(buf, 0)
	pid, err := strconv.Atoi(strings.TrimSpace(string(buf[:n])))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}

// commandLine is pid's command line as /proc shows it, shortened.
func commandLine(pid int) string {
	if pid <= 0 {
		return ""
	}
	raw, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return ""
	}
	cmd := strings.Map(func(r rune) rune {
		switch {
		case r == 0:
			return ' '
		case r < ' ' || r == 0x7f:
			return '?' // another user's argv is not ours to print raw
		}
		return r
	}, string(raw))
	cmd = strings.TrimSpace(cmd)
	if len(cmd) > 200 {
		cmd = cmd[:200] + "…"
	}
	return cmd
}
