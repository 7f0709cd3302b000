package sipcore

import (
	"testing"

	"github.com/parkd/parkd/sipcore/siptest"
)

func TestOriginateCarriesReplacesAndReferredBy(t *testing.T) {
	ctx := testCtx(t)
	ep := newReferEndpoint(t, newReferHandler())
	phone := siptest.NewPhone(t, "carol")
	done := make(chan error, 1)
	go func() {
		_, err := ep.Originate(ctx, Originate{
			Targets:    []string{phone.URI()},
			From:       Party{URI: "sip:parkd@127.0.0.1"},
			Replaces:   &Replaces{CallID: "abc@host", ToTag: "t1", FromTag: "f1"},
			ReferredBy: &Party{Display: "Bob", URI: "sip:bob@127.0.0.1"},
		})
		done <- err
	}()
	in, err := phone.Incoming(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if got := in.Header("Replaces"); got != "abc@host;to-tag=t1;from-tag=f1" {
		t.Errorf("Replaces %q", got)
	}
	if got := in.Header("Referred-By"); got != `"Bob" <sip:bob@127.0.0.1>` {
		t.Errorf("Referred-By %q", got)
	}
	in.Reject(486)
	if err := <-done; err == nil {
		t.Error("Originate to a busy phone returned no error")
	}
}

func TestOriginateRefusesHeaderBreakingTransferFields(t *testing.T) {
	ctx := testCtx(t)
	ep := newReferEndpoint(t, newReferHandler())
	phone := siptest.NewPhone(t, "carol")
	for _, o := range []Originate{
		{Replaces: &Replaces{CallID: "abc\r\nX-Evil: 1", ToTag: "t", FromTag: "f"}},
		{Replaces: &Replaces{CallID: "abc", FromTag: "f"}},
		{ReferredBy: &Party{URI: "sip:bob@h>\r\nX-Evil: 1"}},
	} {
		o.Targets, o.From = []string{phone.URI()}, Party{URI: "sip:parkd@127.0.0.1"}
		if _, err := ep.Originate(ctx, o); err == nil {
			t.Errorf("Originate with %+v %+v: no error", o.Replaces, o.ReferredBy)
		}
	}
	if n := phone.IncomingCount(); n != 0 {
		t.Errorf("%d INVITEs sent with a broken transfer header", n)
	}
}
