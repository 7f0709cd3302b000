//go:build !race

package sipcore

const raceEnabled = false
