package presence

import "strconv"

// Media types for the NOTIFY Content-Type header. A Body carries its own, so
// callers never have to keep a body and its header in step by hand.
const (
	DialogInfoType = "application/dialog-info+xml"
	PIDFType       = "application/pidf+xml"
)

// Body is a NOTIFY body rendered once for one state of one resource and
// then sent to every subscriber of that resource. It is immutable, so one
// Body can be shared by any number of goroutines; the zero Body stands for
// "nothing prepared yet".
type Body struct {
	contentType string
	// prefix is everything before the version number, or the whole
	// document when the body is not versioned; suffix is everything after.
	prefix, suffix string
	versioned      bool
	// datagram is the variant for a UDP NOTIFY when this body is longer
	// than MaxDatagramBody (see ForDatagram); nil when it fits.
	datagram *Body
	omitted  int // dialogs the datagram variant leaves out
}

// MaxDatagramBody is the longest body a NOTIFY over UDP carries: with its
// headers the message stays under the 65,000 bytes parkd sends in one
// datagram.
const MaxDatagramBody = 60000

// ForDatagram is the body to send in a UDP NOTIFY. A lot-wide dialog-info
// document of a busy lot (about 80 parked calls and up) does not fit one
// datagram; its variant lists the dialogs that fit, in order, and omitted
// says how many it leaves out. A watcher still sees the lot occupied, and
// one that needs every call subscribes over TCP.
func (b Body) ForDatagram() (body Body, omitted int) {
	if b.datagram == nil {
		return b, 0
	}
	return *b.datagram, b.omitted
}

// ContentType returns the media type for the NOTIFY's Content-Type header.
func (b Body) ContentType() string { return b.contentType }

// Append is the per-subscriber step of the fan-out: it appends the document
// stamped with this subscription's version to dst, and does not allocate
// when dst has room. PIDF has no version, so version is ignored there.
func (b Body) Append(dst []byte, version uint32) []byte {
	dst = append(dst, b.prefix...)
	if b.versioned {
		dst = strconv.AppendUint(dst, uint64(version), 10)
	}
	return append(dst, b.suffix...)
}

// Len is len(Append(nil, version)), without rendering it: a NOTIFY's
// Content-Length is written before its body.
func (b Body) Len(version uint32) int {
	n := len(b.prefix) + len(b.suffix)
	if b.versioned {
		n++
		for v := version; v >= 10; v /= 10 {
			n++
		}
	}
	return n
}

// Bytes returns the same as Append(nil, version), for callers that send
// one body and do not keep a buffer around; it allocates exactly once.
func (b Body) Bytes(version uint32) []byte {
	if b.IsZero() {
		return nil
	}
	const maxDigits = 10 // math.MaxUint32 in decimal
	return b.Append(make([]byte, 0, len(b.prefix)+maxDigits+len(b.suffix)), version)
}

// IsZero reports whether b is the zero Body, so that callers can tell "no
// state rendered yet" from a rendered, possibly empty, document.
func (b Body) IsZero() bool { return b.contentType == "" }
