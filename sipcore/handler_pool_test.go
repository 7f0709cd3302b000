package sipcore

import (
	"testing"
	"time"

	"github.com/emiago/sipgo/sip"
)

// sipgo ends a transaction once the handler returns: run must not return
// before the handler does, and hands the request over as given.
func TestHandlerPoolRunWaitsForTheHandler(t *testing.T) {
	p := newHandlerPool()
	t.Cleanup(p.Close)
	req := sip.NewRequest(sip.OPTIONS, sip.Uri{User: "u", Host: "h"})
	for range 3 {
		done := false
		var got *sip.Request
		p.run(func(r *sip.Request, _ sip.ServerTransaction) {
			time.Sleep(5 * time.Millisecond)
			got, done = r, true
		}, req, nil)
		if !done || got != req {
			t.Fatalf("run returned with the handler done=%v, request %p (want %p)", done, got, req)
		}
	}
}
