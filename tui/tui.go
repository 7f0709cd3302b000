// Package tui is parkd's attendant console: the screen a receptionist keeps
// open all day. It shows every slot, the attendant queue and the event
// stream live, and drives calls with keys and the mouse.
//
// It talks to the daemon only through parkd.Client, so the same code runs
// on an embedded daemon (*parkd.Server) and on a remote one (apiclient).
// Nothing here polls: one feed goroutine takes a snapshot, then applies the
// daemon's events locally; timers tick from the clock alone.
package tui

import (
	"context"
	"fmt"
	"os"
	"time"

	tea "github.com/charmbracelet/bubbletea"

	"github.com/parkd/parkd/parkd"
)

// Options say where the console runs.
type Options struct {
	// Addr is where the daemon is, for the header: "127.0.0.1:7080
	// (embedded)" or the URL.
	Addr string
	// Embedded means the daemon runs in this process: q with calls parked
	// or queued asks first ("y" quits; the caller then stops the daemon,
	// which hangs every call up cleanly). Attached, q quits at once.
	Embedded bool
	// Logs are daemon log lines for a log pane (embedded); nil when attached.
	Logs <-chan string
	// Now is the clock; nil is time.Now. Tests fix it.
	Now func() time.Time
}

// Run shows the console on the terminal until the user quits or ctx ends.
func Run(ctx context.Context, c parkd.Client, opts Options) error {
	m := newModel(c, opts)
	// The title is written before the program starts: bubbletea 1.3.10's
	// SetWindowTitle writes to the terminal outside its renderer's lock,
	// racing the renderer's first frame (the race detector saw it).
	fmt.Fprint(os.Stdout, "\x1b]2;parkd console\x07")
	p := tea.NewProgram(m, tea.WithAltScreen(), tea.WithMouseCellMotion())
	// ctx ending is an event from outside the program, like the daemon's:
	// it goes in through p.Send so the model quits the normal way and the
	// terminal is restored.
	finished := make(chan struct{})
	go func() {
		select {
		case <-ctx.Done():
			p.Send(stopMsg{})
		case <-finished:
		}
	}()
	_, err := p.Run()
	close(finished)
	m.feed.stop()
	return err
}

// NewModel is the bubbletea model Run runs, for tests (teatest) and
// benchmarks. Its Init starts the feed; whoever runs it must let it quit
// (q, or a stop) so the feed ends.
func NewModel(c parkd.Client, opts Options) tea.Model { return newModel(c, opts) }

// stopMsg tells the console to quit without asking: its context ended.
type stopMsg struct{}
