package siptest

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
	"unicode"

	"github.com/parkd/parkd/sipcore/media"
)

// Audio summarises received RTP as decoded G.711: how long it lasted and
// how loud it was, so a test can tell a spoken prompt from silence.
type Audio struct {
	Packets  int           // audio packets analysed (other payload types are skipped)
	Duration time.Duration // the audio they carry: samples / 8 kHz
	RMS      float64       // of all samples, on the 16-bit linear scale (0 to 32767)
	Voiced   time.Duration // 20 ms frames louder than VoicedRMS
}

// VoicedRMS is the level (-40 dBFS, on the scale of Audio.RMS) above which
// a 20 ms frame counts as sound rather than silence: speech and music sit
// 20 dB or more above it, G.711 silence and line noise well below.
const VoicedRMS = 328.0

// RMSdBFS is RMS in dB relative to full scale (-Inf for digital silence).
func (a Audio) RMSdBFS() float64 { return 20 * math.Log10(a.RMS/math.MaxInt16) }

// Analyse decodes the packets of codec ("PCMU" or "PCMA", see RTP.Codec)
// — those with its static payload type, which is what parkd answers —
// and measures them. Telephone-events and other payload types are
// skipped; an unknown codec analyses nothing.
func Analyse(pkts []Received, codec string) Audio {
	var decode func(byte) int16
	switch codec {
	case "PCMU":
		decode = media.DecodeUlaw
	case "PCMA":
		decode = media.DecodeAlaw
	default:
		return Audio{}
	}
	pt := uint8(staticPT[codec])
	const frame = 160 // samples in 20 ms
	var a Audio
	var samples int
	var sum float64
	for _, p := range pkts {
		if p.PayloadType != pt || len(p.Payload) == 0 {
			continue
		}
		a.Packets++
		for lo := 0; lo < len(p.Payload); lo += frame {
			chunk := p.Payload[lo:min(lo+frame, len(p.Payload))]
			var chunkSum float64
			for _, b := range chunk {
				v := float64(decode(b))
				chunkSum += v * v
			}
			sum += chunkSum
			samples += len(chunk)
			if math.Sqrt(chunkSum/float64(len(chunk))) > VoicedRMS {
				a.Voiced += samplesDuration(len(chunk))
			}
		}
	}
	if samples > 0 {
		a.Duration = samplesDuration(samples)
		a.RMS = math.Sqrt(sum / float64(samples))
	}
	return a
}

func samplesDuration(n int) time.Duration { return time.Duration(n) * time.Second / 8000 }

// dtmfKeys are the RFC 4733 DTMF events 0-15.
const dtmfKeys = "0123456789*#ABCD"

// Key press timing as phones send it: RFC 4733 updates every 20 ms for
// about 100 ms, three end packets, and a pause before the next key.
const (
	dtmfUpdate   = 20 * time.Millisecond
	dtmfUpdates  = 5
	dtmfEnds     = 3
	dtmfGap      = 60 * time.Millisecond
	dtmfVolume   = 10 // -10 dBm0
	dtmfEndFlag  = 0x80
	samplesPerMs = 8
)

// SendDigits presses keys ('0'-'9', '*', '#', 'A'-'D') as RFC 4733
// telephone-events at the negotiated event payload type, paced as phones
// do: each key an event of about 100 ms (an update every 20 ms, the first
// with the marker bit, all with the event's start timestamp) ended by three
// end packets, then 60 ms before the next. The stream's timestamp moves on
// by each event and gap, so audio sent afterwards follows in time. It
// checks every key before sending any and stops early when ctx is done.
func (r *RTP) SendDigits(ctx context.Context, digits string) error {
	events := make([]byte, 0, len(digits))
	for _, d := range digits {
		i := strings.IndexRune(dtmfKeys, unicode.ToUpper(d))
		if i < 0 {
			return fmt.Errorf("siptest: %q is not a DTMF key (0-9 * # A-D)", d)
		}
		events = append(events, byte(i))
	}
	pt := r.EventPT()
	if pt == 0 {
		return errors.New("siptest: telephone-event was not negotiated")
	}
	for i, ev := range events {
		if i > 0 {
			if err := sleepCtx(ctx, dtmfGap); err != nil {
				return err
			}
		}
		r.mu.Lock()
		ts := r.ts
		r.mu.Unlock()
		var duration uint16
		for n := range dtmfUpdates {
			duration += uint16(dtmfUpdate.Milliseconds() * samplesPerMs)
			if err := r.sendEvent(pt, ts, n == 0, []byte{ev, dtmfVolume, byte(duration >> 8), byte(duration)}); err != nil {
				return err
			}
			if err := sleepCtx(ctx, dtmfUpdate); err != nil {
				return err
			}
		}
		for range dtmfEnds {
			if err := r.sendEvent(pt, ts, false, []byte{ev, dtmfEndFlag | dtmfVolume, byte(duration >> 8), byte(duration)}); err != nil {
				return err
			}
		}
		r.mu.Lock()
		r.ts = ts + uint32(duration) + uint32(dtmfGap.Milliseconds()*samplesPerMs)
		r.mu.Unlock()
	}
	return nil
}

// sendEvent sends one telephone-event packet with the given timestamp.
func (r *RTP) sendEvent(pt uint8, ts uint32, marker bool, payload []byte) error {
	return r.sendAt(pt, ts, marker, payload)
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
