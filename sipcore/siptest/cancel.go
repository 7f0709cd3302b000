package siptest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
)

// lateAnswer is a 200 prepared before the CANCEL it answers.
type lateAnswer struct {
	call *Call
	res  *sip.Response
}

// onCancel runs inside sipgo's transaction, after it has answered the
// CANCEL with 200 and before it sends 487 for the INVITE. Should the read
// filter have missed the CANCEL of an armed INVITE, the 200 leaves here,
// written past the transaction ahead of the 487.
func (in *Incoming) onCancel(req *sip.Request) {
	armed := in.claim(req)
	if armed != nil {
		in.p.inbox.disarm(in)
		if err := in.write(armed.res); err != nil {
			in.mu.Lock()
			in.lateErr = err
			in.mu.Unlock()
		}
	}
	in.cancelOnce.Do(func() { close(in.canceled) })
}

// claim records the CANCEL and hands over the armed 200, if any.
func (in *Incoming) claim(req *sip.Request) *lateAnswer {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.wasCanceled = true
	if in.cancel == nil {
		in.cancel = req
	}
	armed := in.armed
	in.armed = nil
	if armed != nil {
		in.call, in.final = armed.call, 200
		in.p.track(armed.call)
	}
	return armed
}

// readFilter sees every message the phone receives before sipgo parses it.
// A CANCEL for an INVITE armed with AnswerOnCancel first makes the phone
// answer that INVITE through its transaction, so sipgo then finds it
// answered: the CANCEL gets 200 and no 487 follows. Over TCP a read may
// hold part of a message only; onCancel catches what this misses.
func (p *Phone) readFilter(info sip.TransportReadProps, data []byte) ([]byte, error) {
	if !strings.EqualFold(info.Transport, "udp") {
		p.sniffAcks(data)
	}
	if in := p.inbox.armedFor(data); in != nil {
		var req *sip.Request
		if msg, err := sip.ParseMessage(append([]byte(nil), data...)); err == nil {
			req, _ = msg.(*sip.Request)
		}
		if armed := in.claim(req); armed != nil {
			if err := in.tx.Respond(armed.res); err != nil {
				in.mu.Lock()
				in.lateErr = err
				in.mu.Unlock()
			}
			in.finish()
		}
		in.cancelOnce.Do(func() { close(in.canceled) })
	}
	return data, nil
}

func (b *inbox) arm(in *Incoming) {
	b.mu.Lock()
	if b.armed == nil {
		b.armed = map[string]*Incoming{}
	}
	b.armed[in.CallID()] = in
	b.mu.Unlock()
}

func (b *inbox) disarm(in *Incoming) {
	b.mu.Lock()
	if b.armed[in.CallID()] == in {
		delete(b.armed, in.CallID())
	}
	b.mu.Unlock()
}

// armedFor finds the armed INVITE a CANCEL in data is for, and disarms it.
func (b *inbox) armedFor(data []byte) *Incoming {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.armed) == 0 || !(bytes.HasPrefix(data, []byte("CANCEL ")) || bytes.Contains(data, []byte("\nCANCEL "))) {
		return nil
	}
	for callID, in := range b.armed {
		if bytes.Contains(data, []byte(callID)) {
			delete(b.armed, callID)
			return in
		}
	}
	return nil
}

// onStrayCancel answers a CANCEL that sipgo matched with no pending INVITE:
// 200 if it is for a call the phone has answered (sipgo forgets an answered
// INVITE's transaction at once over TCP), 481 otherwise.
func (p *Phone) onStrayCancel(req *sip.Request, tx sip.ServerTransaction) {
	if p.call(req) != nil {
		tx.Respond(sip.NewResponseFromRequest(req, 200, "OK", nil))
		return
	}
	tx.Respond(sip.NewResponseFromRequest(req, 481, "Call/Transaction Does Not Exist", nil))
}

// AnswerOnCancel prepares a 200 that the phone sends the moment the
// caller's CANCEL reaches it, before sipgo reads the CANCEL, which then
// finds the INVITE answered: the caller gets 200 (INVITE) and 200 (CANCEL)
// and no 487, as when its CANCEL crossed the phone's 200 on the wire. The
// UAC must then ACK the 200 and hang up with BYE. Read the Call with
// AnswerAfterCancel; Canceled closes as for any CANCEL.
func (in *Incoming) AnswerOnCancel() error {
	if err := in.usable(); err != nil {
		return err
	}
	c, res, err := in.newCall()
	if err != nil {
		return err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.wasCanceled || in.final != 0 || in.armed != nil {
		c.RTP.Close()
		return errors.New("siptest: too late to answer on CANCEL: " + in.stateLocked())
	}
	in.armed = &lateAnswer{call: c, res: res}
	in.p.inbox.arm(in)
	return nil
}

// AnswerAfterCancel waits for the caller's CANCEL and answers the INVITE
// with 200 all the same, written straight to the transport past the
// transaction sipgo has ended with 487: on the wire the 200 follows the
// 487. (A sipgo UAC ignores it over UDP, its INVITE transaction being
// Completed for 32 s, and hands it to its unhandled-response handler over
// TCP; AnswerOnCancel is the race a UAC can act on.) After AnswerOnCancel
// it returns the Call whose 200 already went out. It does not wait for
// the ACK: see Call.WaitAck.
func (in *Incoming) AnswerAfterCancel(ctx context.Context) (*Call, error) {
	if err := in.WaitCanceled(ctx); err != nil {
		return nil, err
	}
	in.mu.Lock()
	if in.call != nil {
		c, err := in.call, in.lateErr
		in.mu.Unlock()
		return c, err
	}
	if in.final != 0 {
		in.mu.Unlock()
		return nil, errors.New("siptest: no late 200: " + in.stateLocked())
	}
	in.final = -1 // keep Answer and Reject off while the 200 is built
	in.mu.Unlock()
	c, res, err := in.startCall()
	if err != nil {
		return nil, err
	}
	if err := in.write(res); err != nil {
		return c, fmt.Errorf("siptest: late 200: %w", err)
	}
	return c, nil
}

// Canceled is closed when the caller's CANCEL arrives.
func (in *Incoming) Canceled() <-chan struct{} { return in.canceled }

// WaitCanceled waits for the caller's CANCEL.
func (in *Incoming) WaitCanceled(ctx context.Context) error {
	select {
	case <-in.canceled:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("siptest: no CANCEL reached %s: %w", in.p.User, ctx.Err())
	}
}

// CancelRequest is the CANCEL, nil while none came (and when it beat the
// phone's listening for it, which Canceled still reports).
func (in *Incoming) CancelRequest() *sip.Request {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.cancel
}

// write sends a response past the transaction: over UDP from the listener
// the INVITE came to, over TCP on its connection.
func (in *Incoming) write(res *sip.Response) error {
	if tx, ok := in.tx.(interface{ Connection() sip.Connection }); ok && tx.Connection() != nil {
		return tx.Connection().WriteMsg(res)
	}
	return in.p.server.WriteResponse(res)
}

// usable says why the phone can no longer respond through the transaction.
// sipgo stores whatever is responded even on a canceled transaction and
// then retransmits it in place of its 487, so the phone must not try.
func (in *Incoming) usable() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.wasCanceled || in.final != 0 || in.armed != nil {
		return errors.New("siptest: " + in.stateLocked())
	}
	return nil
}
