package sipcore

import "sync"

// A fan-out to a thousand watchers wrote a thousand NOTIFYs of about a
// kilobyte each into new buffers: three quarters of what a BLF change
// allocated, and so most of why the garbage collector ran every ten
// changes or so, in the middle of a fan-out. A NOTIFY's buffer is needed
// until its transaction ends (Timer E resends it), and then goes back to
// this pool.

// notifyBufSize is the room of a pooled buffer: a slot's NOTIFY, with a
// parked call or without, fits it; a bigger one (a lot-wide document of
// many calls) gets a buffer of its own.
const notifyBufSize = 2048

var notifyBufs = sync.Pool{New: func() any {
	b := make([]byte, 0, notifyBufSize)
	return &b
}}

// takeNotifyBuf returns a pooled buffer for a message of about size
// bytes, or nil when it would not fit one.
func takeNotifyBuf(size int) *[]byte {
	if size > notifyBufSize {
		return nil
	}
	return notifyBufs.Get().(*[]byte)
}

// notifyBufBytes is buf's bytes to append to, or a new slice of room size
// when there is no buf.
func notifyBufBytes(buf *[]byte, size int) []byte {
	if buf == nil {
		return make([]byte, 0, size)
	}
	return (*buf)[:0]
}

// release gives the transaction's buffer back once it has ended: nothing
// writes msg after this.
func (tx *udpTx) release() {
	tx.mu.Lock()
	buf := tx.buf
	tx.msg, tx.buf = nil, nil
	tx.mu.Unlock()
	if buf != nil {
		notifyBufs.Put(buf)
	}
}
