package media

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
)

// WAV format tags we recognise (and name in errors).
const (
	wavPCM        = 1
	wavADPCM      = 2
	wavFloat      = 3
	wavALaw       = 6
	wavMuLaw      = 7
	wavGSM        = 0x31
	wavMP3        = 0x55
	wavExtensible = 0xFFFE
)

const (
	maxWAVData     = 512 << 20 // refuse absurd files rather than exhaust memory
	minWAVRate     = 1000
	maxWAVRate     = 384000
	wavUnknownSize = 0xFFFFFFFF // written by streaming encoders that never seek back
)

// LoadWAVSource reads a WAV file and makes an MOH source from it, named
// after the file.
func LoadWAVSource(path string) (*Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("moh file %q: %w", path, err)
	}
	defer f.Close()
	pcm, err := DecodeWAV(bufio.NewReader(f))
	if err != nil {
		return nil, fmt.Errorf("moh file %q: %w", path, err)
	}
	return NewSourceFromPCM(filepath.Base(path), pcm), nil
}

// wavFormat is the part of a "fmt " chunk we use.
type wavFormat struct {
	tag      uint16 // after resolving WAVE_FORMAT_EXTENSIBLE
	channels int
	rate     int
	bits     int
}

// DecodeWAV parses a RIFF/WAVE stream and returns its audio as 8 kHz mono
// linear PCM. Accepted: PCM 16-bit and 8-bit (unsigned), mono or stereo
// (downmixed), at any rate from 1 to 384 kHz (resampled); G.711 µ-law and
// A-law at 8 kHz. Everything else is an error that says what was found and
// what to use instead. Malformed input never panics.
func DecodeWAV(r io.Reader) ([]int16, error) {
	var riff [12]byte
	if _, err := io.ReadFull(r, riff[:]); err != nil {
		return nil, errors.New("not a WAV file: too short for a RIFF header")
	}
	switch string(riff[0:4]) {
	case "RIFF":
	case "RIFX", "RF64":
		return nil, fmt.Errorf("unsupported %s container; use a plain RIFF WAV", riff[0:4])
	default:
		return nil, errors.New("not a WAV file: missing RIFF header")
	}
	if string(riff[8:12]) != "WAVE" {
		return nil, fmt.Errorf("not a WAV file: RIFF type is %q, not \"WAVE\"", riff[8:12])
	}

	var (
		format *wavFormat
		data   []byte
	)
	for format == nil || data == nil {
		var hdr [8]byte
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return nil, missingChunks(format, data)
		}
		id := string(hdr[0:4])
		size := binary.LittleEndian.Uint32(hdr[4:8])
		switch id {
		case "fmt ":
			if format != nil {
				return nil, errors.New("more than one fmt chunk")
			}
			f, err := readWAVFormat(r, size)
			if err != nil {
				return nil, err
			}
			format = f
		case "data":
			if data != nil {
				return nil, errors.New("more than one data chunk")
			}
			d, err := readWAVData(r, size)
			if err != nil {
				return nil, err
			}
			data = d
			if size&1 != 0 && format == nil { // the fmt chunk is still to come
				var pad [1]byte
				_, _ = io.ReadFull(r, pad[:])
			}
		default:
			// LIST, fact, cue, ...: skip, including the pad byte.
			skip := int64(size) + int64(size&1)
			if n, _ := io.CopyN(io.Discard, r, skip); n < int64(size) {
				return nil, missingChunks(format, data)
			}
		}
	}
	return convertWAV(format, data)
}

// missingChunks describes a stream that ended before both required chunks.
func missingChunks(format *wavFormat, data []byte) error {
	switch {
	case format == nil && data == nil:
		return errors.New("truncated WAV: no fmt or data chunk")
	case format == nil:
		return errors.New("truncated WAV: no fmt chunk")
	}
	return errors.New("truncated WAV: no data chunk")
}

func readWAVFormat(r io.Reader, size uint32) (*wavFormat, error) {
	if size < 16 || size > 1024 {
		return nil, fmt.Errorf("malformed fmt chunk: size %d", size)
	}
	buf := make([]byte, size)
	if _, err := io.ReadFull(r, buf); err != nil {
		return nil, errors.New("truncated fmt chunk")
	}
	if size&1 != 0 { // pad byte; if it is missing, the data chunk is too
		var pad [1]byte
		_, _ = io.ReadFull(r, pad[:])
	}
	f := &wavFormat{
		tag:      binary.LittleEndian.Uint16(buf[0:2]),
		channels: int(binary.LittleEndian.Uint16(buf[2:4])),
		rate:     int(binary.LittleEndian.Uint32(buf[4:8])),
		bits:     int(binary.LittleEndian.Uint16(buf[14:16])),
	}
	if f.tag == wavExtensible {
		// WAVE_FORMAT_EXTENSIBLE: cbSize(2) validBits(2) channelMask(4) then
		// the sub-format GUID, whose first two bytes are the real tag.
		if size < 40 {
			return nil, errors.New("malformed fmt chunk: WAVE_FORMAT_EXTENSIBLE without sub-format")
		}
		f.tag = binary.LittleEndian.Uint16(buf[24:26])
	}
	return f, nil
}

func readWAVData(r io.Reader, size uint32) ([]byte, error) {
	if size == wavUnknownSize { // length never filled in: take the rest
		d, err := io.ReadAll(io.LimitReader(r, maxWAVData+1))
		if err != nil {
			return nil, fmt.Errorf("reading data chunk: %w", err)
		}
		if len(d) > maxWAVData {
			return nil, fmt.Errorf("data chunk larger than %d MiB", maxWAVData>>20)
		}
		if len(d) == 0 {
			return nil, errors.New("empty data chunk: no audio")
		}
		return d, nil
	}
	if size == 0 {
		return nil, errors.New("empty data chunk: no audio")
	}
	if size > maxWAVData {
		return nil, fmt.Errorf("data chunk of %d bytes is larger than %d MiB", size, maxWAVData>>20)
	}
	// Read through a LimitReader rather than allocating size up front: a
	// lying header must not make us allocate what the file does not hold.
	d, err := io.ReadAll(io.LimitReader(r, int64(size)))
	if err != nil {
		return nil, fmt.Errorf("reading data chunk: %w", err)
	}
	if len(d) < int(size) {
		return nil, fmt.Errorf("truncated data chunk: header says %d bytes, file has %d", size, len(d))
	}
	// The pad byte after an odd-sized chunk may be missing at end of file.
	return d, nil
}

func convertWAV(f *wavFormat, data []byte) ([]int16, error) {
	if f.channels != 1 && f.channels != 2 {
		return nil, fmt.Errorf("unsupported channel count %d; use mono or stereo", f.channels)
	}
	if f.rate < minWAVRate || f.rate > maxWAVRate {
		return nil, fmt.Errorf("unsupported sample rate %d Hz", f.rate)
	}
	var (
		bytesPerSample int
		sample         func([]byte) int32
	)
	switch f.tag {
	case wavPCM:
		switch f.bits {
		case 16:
			bytesPerSample = 2
			sample = func(b []byte) int32 { return int32(int16(binary.LittleEndian.Uint16(b))) }
		case 8:
			bytesPerSample = 1
			sample = func(b []byte) int32 { return (int32(b[0]) - 128) << 8 }
		default:
			return nil, fmt.Errorf("unsupported %d-bit PCM; use 16-bit PCM", f.bits)
		}
	case wavMuLaw, wavALaw:
		name, decode := "µ-law", DecodeUlaw
		if f.tag == wavALaw {
			name, decode = "A-law", DecodeAlaw
		}
		if f.rate != sampleRate {
			return nil, fmt.Errorf("unsupported G.711 %s at %d Hz; G.711 WAV files must be 8000 Hz (or use 16-bit PCM)", name, f.rate)
		}
		if f.bits != 8 {
			return nil, fmt.Errorf("malformed G.711 %s WAV: %d bits per sample, want 8", name, f.bits)
		}
		bytesPerSample = 1
		sample = func(b []byte) int32 { return int32(decode(b[0])) }
	default:
		return nil, fmt.Errorf("unsupported WAV format %d (%s); use 16-bit PCM", f.tag, wavFormatName(f.tag))
	}

	frameBytes := bytesPerSample * f.channels
	frames := len(data) / frameBytes // a trailing partial frame is ignored
	if frames == 0 {
		return nil, errors.New("data chunk holds less than one sample")
	}
	mono := make([]int16, frames)
	for i := range mono {
		b := data[i*frameBytes:]
		v := sample(b)
		if f.channels == 2 {
			v = (v + sample(b[bytesPerSample:])) / 2
		}
		mono[i] = int16(v)
	}
	return resampleTo8k(mono, f.rate), nil
}

func wavFormatName(tag uint16) string {
	switch tag {
	case wavADPCM:
		return "Microsoft ADPCM"
	case wavFloat:
		return "IEEE float"
	case wavGSM:
		return "GSM 6.10"
	case wavMP3:
		return "MP3"
	case 0x11:
		return "IMA ADPCM"
	case 0x50:
		return "MPEG"
	}
	return "unknown"
}

// resampleTo8k converts mono PCM at rate to 8 kHz. Downsampling first runs
// a windowed-sinc low-pass (cutoff 3.4 kHz) so content above the new 4 kHz
// Nyquist does not fold back as noise; then each output sample is a linear
// interpolation between the two nearest filtered input samples. The filter
// is evaluated only at the input positions actually used, so long files
// cost O(output × taps), not O(input × taps).
func resampleTo8k(in []int16, rate int) []int16 {
	if rate == sampleRate {
		return in
	}
	outLen := int(int64(len(in)) * sampleRate / int64(rate))
	if outLen == 0 {
		outLen = 1
	}
	out := make([]int16, outLen)

	var taps []float64
	if rate > sampleRate {
		taps = lowPassTaps(3400/float64(rate), rate)
	}
	half := len(taps) / 2
	at := func(i int) float64 { // filtered input sample i (zero outside)
		if taps == nil {
			if i < 0 || i >= len(in) {
				return 0
			}
			return float64(in[i])
		}
		var acc float64
		lo := i - half
		for k, t := range taps {
			if j := lo + k; j >= 0 && j < len(in) {
				acc += t * float64(in[j])
			}
		}
		return acc
	}

	step := float64(rate) / sampleRate
	for o := range out {
		pos := float64(o) * step
		i := int(pos)
		frac := pos - float64(i)
		v := at(i)
		if frac > 0 {
			v += frac * (at(i+1) - v)
		}
		out[o] = clampInt16(v)
	}
	return out
}

// lowPassTaps designs a Hamming-windowed sinc with normalized cutoff fc
// (cycles per sample) and a transition band of about 1.2 kHz, long enough
// to reject the aliasing band without making long files slow to load.
func lowPassTaps(fc float64, rate int) []float64 {
	n := int(3.3*float64(rate)/1200) | 1 // odd: a centre tap, zero phase
	taps := make([]float64, n)
	mid := n / 2
	var sum float64
	for k := range taps {
		x := float64(k - mid)
		v := 2 * fc
		if x != 0 {
			v = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		v *= 0.54 - 0.46*math.Cos(2*math.Pi*float64(k)/float64(n-1))
		taps[k] = v
		sum += v
	}
	for k := range taps {
		taps[k] /= sum // unity gain at DC
	}
	return taps
}

func clampInt16(v float64) int16 {
	v = math.Round(v)
	switch {
	case v > math.MaxInt16:
		return math.MaxInt16
	case v < math.MinInt16:
		return math.MinInt16
	}
	return int16(v)
}
