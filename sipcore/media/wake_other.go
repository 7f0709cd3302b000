//go:build !linux

package media

import "time"

// Elsewhere the tick sleeps on Go's timer alone (wake_linux.go).
type wakeFD struct{}

func newWakeFD() wakeFD          { return wakeFD{} }
func (wakeFD) arm(time.Duration) {}
func (wakeFD) disarm()           {}
func (wakeFD) close()            {}
