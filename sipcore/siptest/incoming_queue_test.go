package siptest_test

import (
	"context"
	"testing"
	"time"

	"github.com/parkd/parkd/sipcore/siptest"
)

func TestIncomingQueue(t *testing.T) {
	ctx := timeout(t)
	caller, callee := phones(t, "udp")
	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if in, err := callee.Incoming(short); err == nil {
		t.Fatalf("Incoming without a call: %v", in.Request().StartLine())
	}
	if n := callee.IncomingCount(); n != 0 {
		t.Fatalf("IncomingCount = %d before any INVITE", n)
	}
	var ids []string
	for i := 0; i < 3; i++ {
		call, err := caller.Start(ctx, callee.URI(), siptest.CallOptions{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, call.CallID())
		// Wait for the phone to have it, so the order is known.
		for callee.IncomingCount() < i+1 {
			time.Sleep(time.Millisecond)
		}
	}
	for i, id := range ids {
		in := incoming(t, ctx, callee)
		if in.CallID() != id {
			t.Errorf("INVITE %d is %s, want %s", i, in.CallID(), id)
		}
		if err := in.Reject(486); err != nil {
			t.Fatal(err)
		}
	}
	if n := callee.IncomingCount(); n != 3 {
		t.Errorf("IncomingCount = %d, want 3", n)
	}
	if n := caller.IncomingCount(); n != 0 {
		t.Errorf("the caller rang %d times", n)
	}
	callee.Close()
	if _, err := callee.Incoming(ctx); err == nil {
		t.Error("Incoming on a closed phone")
	}
}
