//go:build race

package sipcore

const raceEnabled = true
