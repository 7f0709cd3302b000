package parkd

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/parkd/parkd/sipcore/media"
)

// music is the music-on-hold source in use. A reload that changes it
// starts the new source, moves every listener across in one step and
// stops the old one, so no parked caller hears a gap.
type music struct {
	src atomic.Pointer[mohSource]

	mu      sync.Mutex // start, swap and stop
	running bool
	stopRun context.CancelFunc
	done    chan struct{}
}

// mohSource is a loaded source and what it was loaded from, so a reload
// of an unchanged file keeps the music where it is.
type mohSource struct {
	*media.Source
	setting string
	size    int64
	modTime time.Time
}

// loadMusic reads the moh setting: "builtin" (or "") or a WAV file.
func loadMusic(setting string, log *slog.Logger) (*mohSource, error) {
	m := &mohSource{setting: setting}
	if setting == "" || setting == "builtin" {
		m.Source = media.NewBuiltinSource()
	} else {
		info, err := os.Stat(setting)
		if err != nil {
			return nil, &ConfigError{Key: "moh", Msg: err.Error()}
		}
		m.size, m.modTime = info.Size(), info.ModTime()
		if m.Source, err = media.LoadWAVSource(setting); err != nil {
			return nil, &ConfigError{Key: "moh", Msg: err.Error()}
		}
	}
	m.SetLogger(log)
	return m, nil
}

// sameAs reports whether setting names what m was loaded from, unchanged.
func (m *mohSource) sameAs(setting string) bool {
	if setting == "" {
		setting = "builtin"
	}
	mine := m.setting
	if mine == "" {
		mine = "builtin"
	}
	if setting != mine {
		return false
	}
	if mine == "builtin" {
		return true
	}
	info, err := os.Stat(setting)
	return err == nil && info.Size() == m.size && info.ModTime().Equal(m.modTime)
}

func (m *music) set(src *mohSource) { m.src.Store(src) }

// source is the source new listeners join.
func (m *music) source() *media.Source { return m.src.Load().Source }

// start plays the current source until stop.
func (m *music) start() {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.running = true
	m.stopRun, m.done = m.run(m.src.Load())
}

func (m *music) run(src *mohSource) (context.CancelFunc, chan struct{}) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); src.Run(ctx) }()
	return cancel, done
}

// swap makes next the source in use and moves every listener to it.
// Callers hold Server.mu, so no call joins the old source meanwhile.
func (m *music) swap(next *mohSource) (moved int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	old := m.src.Load()
	var stopOld context.CancelFunc
	var oldDone chan struct{}
	if m.running {
		stopOld, oldDone = m.stopRun, m.done
		m.stopRun, m.done = m.run(next)
	}
	m.src.Store(next)
	moved = old.MoveListeners(next.Source)
	if stopOld != nil {
		stopOld()
		<-oldDone
	}
	return moved
}

// stop ends the music.
func (m *music) stop() {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.running {
		m.stopRun()
		<-m.done
		m.running = false
	}
}
