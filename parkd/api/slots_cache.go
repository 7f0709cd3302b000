package api

import (
	"bytes"
	"encoding/json"
	"sync"

	"github.com/parkd/parkd/parkd"
)

// slotJSON keeps each slot's encoded view until the slot changes, so a
// GET /slots of a thousand busy slots encodes only what moved since the
// last one. Every change of a slot bumps its Version; its State also
// moves without one (a retriever's INVITE being answered), so both are
// the key. The cache holds one entry per configured slot at most.
type slotJSON struct {
	mu sync.Mutex
	m  map[string]cachedSlot
}

type cachedSlot struct {
	version uint64
	state   string
	json    []byte
}

// slotBodies recycles answer buffers: a thousand slots make half a
// megabyte per request, which is garbage the collector need not see.
var slotBodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// encode writes {"slots":[…]} for views into a pooled buffer; give it
// back with release once written.
func (c *slotJSON) encode(views []parkd.SlotView) (*bytes.Buffer, error) {
	b := slotBodies.Get().(*bytes.Buffer)
	b.Reset()
	b.Grow(64 + 480*len(views))
	b.WriteString(`{"slots":[`)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]cachedSlot{}
	}
	for i, v := range views {
		if i > 0 {
			b.WriteByte(',')
		}
		key := v.Lot + "/" + v.Slot
		e, ok := c.m[key]
		if !ok || e.version != v.Version || e.state != v.State {
			js, err := json.Marshal(v)
			if err != nil {
				release(b)
				return nil, err
			}
			e = cachedSlot{version: v.Version, state: v.State, json: js}
			c.m[key] = e
		}
		b.Write(e.json)
	}
	b.WriteString("]}")
	return b, nil
}

// release returns an answer buffer to the pool, unless it grew huge.
func release(b *bytes.Buffer) {
	if b.Cap() <= 8<<20 {
		slotBodies.Put(b)
	}
}
