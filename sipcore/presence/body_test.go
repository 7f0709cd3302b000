package presence

import (
	"bytes"
	"math"
	"strconv"
	"strings"
	"testing"
)

func TestBodyContentType(t *testing.T) {
	if got := DialogInfoBody("sip:701@127.0.0.1", nil).ContentType(); got != DialogInfoType {
		t.Errorf("dialog-info content type %q", got)
	}
	if got := PIDFBody("sip:701@127.0.0.1", nil).ContentType(); got != PIDFType {
		t.Errorf("PIDF content type %q", got)
	}
}

func TestZeroBody(t *testing.T) {
	var b Body
	if !b.IsZero() {
		t.Error("zero Body is not IsZero")
	}
	if DialogInfoBody("", nil).IsZero() || PIDFBody("", nil).IsZero() {
		t.Error("an empty document is IsZero")
	}
	if got := b.Append([]byte("x"), 3); string(got) != "x" {
		t.Errorf("zero Body appended %q", got)
	}
	if got := b.Bytes(3); got != nil {
		t.Errorf("zero Body Bytes = %q", got)
	}
}

// The fan-out depends on the version being the only per-subscriber part.
func TestAppendDiffersOnlyInVersion(t *testing.T) {
	body := DialogInfoBody("sip:701@127.0.0.1", exampleDialogs())
	base := string(body.Bytes(0))
	if strings.Count(base, `version="0"`) != 1 {
		t.Fatalf("version=\"0\" not found exactly once in\n%s", base)
	}
	for _, v := range []uint32{0, 1, 7, 10, 12345, math.MaxUint32} {
		want := strings.Replace(base, `version="0"`, `version="`+strconv.FormatUint(uint64(v), 10)+`"`, 1)
		if got := string(body.Bytes(v)); got != want {
			t.Errorf("Bytes(%d) =\n%s\nwant\n%s", v, got, want)
		}
		if got := body.Append([]byte("head:"), v); string(got) != "head:"+want {
			t.Errorf("Append(head:, %d) = %q", v, got)
		}
		info, err := ParseDialogInfo(body.Bytes(v))
		if err != nil {
			t.Fatalf("version %d: %v", v, err)
		}
		if info.Version != v {
			t.Errorf("version %d parsed as %d", v, info.Version)
		}
	}

	pidf := PIDFBody("sip:701@127.0.0.1", exampleTuples())
	if !bytes.Equal(pidf.Bytes(1), pidf.Bytes(99)) {
		t.Error("PIDF body depends on the version")
	}
}

func TestAppendDoesNotAllocate(t *testing.T) {
	for _, body := range []Body{
		DialogInfoBody("sip:701@127.0.0.1", exampleDialogs()),
		PIDFBody("sip:701@127.0.0.1", exampleTuples()),
	} {
		dst := make([]byte, 0, 4096)
		v := uint32(math.MaxUint32 - 1000)
		if n := testing.AllocsPerRun(1000, func() {
			v++
			dst = body.Append(dst[:0], v)
		}); n != 0 {
			t.Errorf("%s: Append allocates %v times", body.ContentType(), n)
		}
	}
}

func BenchmarkDialogInfoAppend(b *testing.B) {
	body := DialogInfoBody("sip:701@127.0.0.1", exampleDialogs())
	dst := make([]byte, 0, 4096)
	b.SetBytes(int64(len(body.Bytes(math.MaxUint32))))
	b.ReportAllocs()
	var v uint32
	for b.Loop() {
		v++
		dst = body.Append(dst[:0], v)
	}
}

// Len predicts the length Append gives, for every width of version.
func TestBodyLenIsAppendedLength(t *testing.T) {
	bodies := []Body{DialogInfoBody("sip:701@h", nil), PIDFBody("sip:701@h", []Tuple{{ID: "t", Open: true}}), {}}
	for _, b := range bodies {
		for _, v := range []uint32{0, 9, 10, 99, 100, 12345, 4294967295} {
			if got, want := b.Len(v), len(b.Append(nil, v)); got != want {
				t.Errorf("%s version %d: Len %d, Append %d", b.ContentType(), v, got, want)
			}
		}
	}
}
