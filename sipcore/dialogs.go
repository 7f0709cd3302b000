package sipcore

import (
	"sync"

	"github.com/emiago/sipgo/sip"
)

// DialogID names one dialog from parkd's side (RFC 3261 §12).
type DialogID struct {
	CallID    string
	LocalTag  string // parkd's tag
	RemoteTag string // the peer's tag
}

// dialogRegistry is sipcore's own dialog table: sipgo's caches do not cover
// re-INVITE, UPDATE or our own CSeq, so every call lives here.
type dialogRegistry struct {
	mu    sync.Mutex
	calls map[DialogID]*Call
	tcp   tcpSources // the TCP connections the calls send over
}

func (r *dialogRegistry) init() {
	r.calls = map[DialogID]*Call{}
	r.tcp = tcpSources{}
}

func (r *dialogRegistry) add(c *Call) {
	r.mu.Lock()
	if old := r.calls[c.ID]; old != nil {
		r.tcp.remove(&old.dialogPeer)
	}
	r.calls[c.ID] = c
	r.tcp.add(&c.dialogPeer)
	r.mu.Unlock()
}

func (r *dialogRegistry) remove(c *Call) {
	r.mu.Lock()
	if r.calls[c.ID] == c {
		delete(r.calls, c.ID)
		r.tcp.remove(&c.dialogPeer)
	}
	r.mu.Unlock()
}

func (r *dialogRegistry) get(id DialogID) *Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[id]
}

// byRequest finds the call an in-dialog request belongs to: its To-tag is
// ours and its From-tag is the peer's.
func (r *dialogRegistry) byRequest(req *sip.Request) *Call {
	id, ok := requestDialogID(req)
	if !ok {
		return nil
	}
	return r.get(id)
}

// requestDialogID is the dialog an in-dialog request names, from parkd's
// side: its To-tag is ours and its From-tag is the peer's.
func requestDialogID(req *sip.Request) (DialogID, bool) {
	from, to, cid := req.From(), req.To(), req.CallID()
	if from == nil || to == nil || cid == nil {
		return DialogID{}, false
	}
	localTag, _ := to.Params.Get("tag")
	remoteTag, _ := from.Params.Get("tag")
	return DialogID{CallID: cid.Value(), LocalTag: localTag, RemoteTag: remoteTag}, true
}

func (r *dialogRegistry) all() []*Call {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]*Call, 0, len(r.calls))
	for _, c := range r.calls {
		out = append(out, c)
	}
	return out
}

func (r *dialogRegistry) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.calls)
}
