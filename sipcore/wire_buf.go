package sipcore

import (
	"bytes"
	"sync"

	"github.com/emiago/sipgo/sip"
)

// A response parkd sends itself (its own INVITE transactions, the read
// loop's stateless answers) is written into a pooled buffer, as sipgo's
// transport writes the messages it sends. Written with String, each cost
// a strings.Builder grown three or four times and a copy of the result:
// at 1,000 pairs/s, a ninth of all parkd allocated.

// maxPooledWire is the largest buffer put back: a response with a big
// SDP body, or a hostile request's headers echoed, is not kept.
const maxPooledWire = 8 << 10

var wireBufs = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// wireOf writes res into a pooled buffer; give it back with putWire once
// its bytes are sent (copy what must outlive that).
func wireOf(res *sip.Response) *bytes.Buffer {
	buf := wireBufs.Get().(*bytes.Buffer)
	buf.Reset()
	res.StringWrite(buf)
	return buf
}

func putWire(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledWire {
		wireBufs.Put(buf)
	}
}
