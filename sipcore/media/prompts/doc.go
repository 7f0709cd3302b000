// Package prompts holds parkd's spoken prompts ("parked on", the digits,
// "slot is occupied", ...) as media.Clips, and builds the announcements
// made of them, such as "parked on seven zero three".
//
// The built-in prompts are embedded in the binary as raw 8 kHz G.711 µ-law
// files (assets/<name>.ul, about 90 KB in all). They were made with the
// free speech synthesizer espeak-ng (Debian package espeak-ng, voice en-us
// at 150 words per minute), trimmed of silence and brought to one speech
// level (-18 dBFS RMS). To regenerate them after changing a text or a
// setting in generate.go:
//
//	apt-get install espeak-ng
//	go generate ./sipcore/media/prompts
//
// which runs `go run generate.go` here. It needs no other audio tool: the
// WAV espeak-ng writes is resampled and encoded with package media's own
// DecodeWAV and EncodeUlaw. The output is deterministic for one espeak-ng
// version (1.51 made the committed files).
//
// A lot may replace any prompt with a recording of its own: Set.With
// returns a copy of a Set with one prompt replaced.
package prompts

//go:generate go run generate.go
