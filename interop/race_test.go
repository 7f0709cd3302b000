//go:build race

package interop

// Under `go test -race` the daemon binary is built with -race as well.
func init() { raceEnabled = true }
