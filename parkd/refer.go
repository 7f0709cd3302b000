package parkd

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/sipcore"
)

// ParkerFromRefer is CallView.ParkerFrom for a call parked because the
// other party of its bridge sent a REFER to a park extension or slot.
const ParkerFromRefer = "REFER"

var _ sipcore.ReferHandler = (*Server)(nil)

// referTimeout bounds the final NOTIFY parkd sends a referrer.
const referTimeout = 5 * hangupTimeout

// referKind is what a REFER asks parkd to do with the other leg.
type referKind int

const (
	referPark     referKind = iota + 1 // into a lot (first free slot) or one slot
	referTransfer                      // ring another URI and bridge to it (blind, or attended with Replaces)
	referReplace                       // take the place of another call parkd holds (attended, Replaces names it)
)

// referPlan is a REFER worked out under s.mu; code != 0 refuses it.
type referPlan struct {
	kind       referKind
	lot        *lot
	slot       *slot
	target     string
	replaces   *sipcore.Replaces // an attended transfer to a phone outside
	referredBy *sipcore.Party
	replace    *callRecord

	code            int
	reason, warning string
}

func refuseRefer(code int, reason, format string, args ...any) referPlan {
	return referPlan{code: code, reason: reason, warning: fmt.Sprintf(format, args...)}
}

// HandleRefer follows a REFER from a leg parkd bridges: either party may
// send the other to a park extension or slot, to another phone (blind
// transfer), or in place of a call (attended transfer: Refer-To carries
// Replaces). The referrer gets 202 and the sipfrag NOTIFYs of RFC 3515; a
// REFER parkd cannot follow gets a 4xx that says why.
func (s *Server) HandleRefer(ctx context.Context, r *sipcore.Refer) {
	log := r.Call.Logger().With("refer_to", r.Target)
	s.mu.Lock()
	plan := s.planReferLocked(r)
	var follow func()
	if plan.code == 0 {
		// Taken in hand before the 202 goes out: a phone hangs up the
		// moment its transfer is accepted, and that BYE must find the
		// other party out of the bridge already, or it takes the call with
		// it. parkd's own answer is what opens that window, so nothing the
		// referrer sends after the 202 can beat it.
		follow = s.takeReferLocked(r, plan)
	}
	accepted := s.referAccepted
	s.mu.Unlock()
	if plan.code != 0 {
		log.Info("REFER refused", "code", plan.code, "why", plan.warning)
		if err := r.Reject(plan.code, plan.reason, plan.warning); err != nil {
			log.Debug("answering REFER failed", "error", err)
		}
		return
	}
	if err := r.Accept(); err != nil {
		// The other party is taken out of the bridge already; going on is
		// what a 202 lost on its way would have led to.
		log.Info("accepting REFER failed; following it all the same", "error", err)
	}
	if accepted != nil {
		accepted()
	}
	follow()
}

// takeReferLocked does what plan asks under s.mu, and returns what is left
// to do once the REFER is answered: the NOTIFYs, hanging up, ringing.
func (s *Server) takeReferLocked(r *sipcore.Refer, plan referPlan) func() {
	switch plan.kind {
	case referPark:
		return s.referParkLocked(r, plan)
	case referTransfer:
		return s.referTransferLocked(r, plan)
	default:
		return s.referReplaceLocked(r, plan)
	}
}

func (s *Server) planReferLocked(r *sipcore.Refer) referPlan {
	rec := s.records[r.Call]
	switch {
	case s.stopping:
		return refuseRefer(503, "Service Unavailable", "parkd is shutting down")
	case rec == nil || rec.peer == nil:
		return refuseRefer(403, "Forbidden", "parkd follows a REFER only in a call it bridges to another party")
	case rec.peer.ringingTo != "" || rec.ringingTo != "":
		return refuseRefer(491, "Request Pending", "a transfer of this call is already ringing")
	}
	own := s.isOwnAddress(r.Target)
	if r.Replaces != nil {
		if x := s.recordByDialogLocked(*r.Replaces); x != nil {
			if x == rec || x == rec.peer {
				return refuseRefer(400, "Bad Request", "Replaces names this very call")
			}
			if !sameParty(rec, x) {
				return refuseRefer(403, "Forbidden", "Replaces names a call that is not the referrer's own")
			}
			if x.slot == nil && x.peer == nil {
				return refuseRefer(488, "Not Acceptable Here", "Replaces names a call that is neither parked nor bridged")
			}
			return referPlan{kind: referReplace, replace: x}
		}
		if own {
			return refuseRefer(481, "Call/Transaction Does Not Exist", "Replaces names no call at parkd")
		}
		plan := s.outsideTransferLocked(rec, r)
		plan.replaces = r.Replaces
		return plan
	}
	if own {
		if l, ok := s.byExt[r.User]; ok {
			return referPlan{kind: referPark, lot: l}
		}
		if sl, ok := s.bySlot[r.User]; ok {
			if sl.free() {
				return referPlan{kind: referPark, slot: sl, lot: sl.lot}
			}
			// A transfer never bridges two callers: next_free
			// parks it elsewhere in the lot, else it is refused.
			if sl.lot.cfg.TransferToOccupied == TransferNextFree && sl.lot.findFree() != nil {
				return referPlan{kind: referPark, lot: sl.lot}
			}
			return refuseRefer(486, "Busy Here", "slot %s is occupied", sl.name)
		}
		return refuseRefer(404, "Not Found", "%q is not a park extension or slot", r.User)
	}
	return s.outsideTransferLocked(rec, r)
}

// outsideTransferLocked plans a transfer to a phone that is not parkd. A
// REFER is a request to send an INVITE where its sender says: parkd does
// so only for a leg from a trusted or authenticated source, or through the
// outbound proxy (which applies its own policy), and never looks up a name
// a REFER gave it.
func (s *Server) outsideTransferLocked(rec *callRecord, r *sipcore.Refer) referPlan {
	proxy := s.config().SIP.OutboundProxy != ""
	if !rec.verified && !proxy {
		return refuseRefer(403, "Forbidden", "parkd transfers to another host only for a trusted or authenticated party (or through sip.outbound_proxy)")
	}
	if !proxy && !ipHost(r.Target) {
		return refuseRefer(403, "Forbidden", "parkd does not look up host names from a REFER; set sip.outbound_proxy")
	}
	return referPlan{kind: referTransfer, target: r.Target, referredBy: r.ReferredBy}
}

func ipHost(uri string) bool {
	var u sip.Uri
	if err := sip.ParseUri(uri, &u); err != nil {
		return false
	}
	_, err := netip.ParseAddr(strings.Trim(u.Host, "[]"))
	return err == nil
}

// sameParty reports whether x may be replaced on rec's word (RFC 3891
// §6): it is the referrer's own other call (its consultation call, say),
// from the same phone, or both legs come from trusted or authenticated
// sources. A stranger who learned a parked call's dialog from a BLF body
// may not hang it up this way.
func sameParty(rec, x *callRecord) bool {
	if rec.verified && x.verified {
		return true
	}
	ip := rec.call.SourceIP()
	return ip.IsValid() && ip == x.call.SourceIP() && rec.caller.URI == x.caller.URI
}

// recordByDialogLocked finds the call whose dialog a Replaces names, seen
// from parkd's side (to-tag is parkd's tag). Callers hold s.mu.
func (s *Server) recordByDialogLocked(r sipcore.Replaces) *callRecord {
	for c, rec := range s.records {
		if c.ID.CallID == r.CallID && c.ID.LocalTag == r.ToTag && c.ID.RemoteTag == r.FromTag {
			return rec
		}
	}
	return nil
}

// stillReferableLocked checks that the referrer still talks to someone
// parkd may transfer, neither leg on its way out; else the status its
// final NOTIFY reports. Callers hold s.mu.
func (s *Server) stillReferableLocked(rec *callRecord) (int, string) {
	switch {
	case s.stopping:
		return 503, "Service Unavailable"
	case rec == nil || rec.peer == nil || rec.hangupWhy != "" || rec.peer.hangupWhy != "":
		return 487, "Request Terminated"
	case rec.peer.ringingTo != "":
		return 491, "Request Pending"
	}
	return 0, ""
}

// finishRefer sends the referrer its final NOTIFY; a referrer that is
// already gone changes nothing.
func finishRefer(r *sipcore.Refer, status int, reason string) {
	ctx, cancel := context.WithTimeout(context.Background(), referTimeout)
	defer cancel()
	if err := r.Finish(ctx, status, reason); err != nil {
		r.Call.Logger().Debug("final REFER NOTIFY not delivered", "status", status, "error", err)
	}
}

// referrerDone reports the outcome and hangs the referrer up: its part
// in the call is over.
func (s *Server) referrerDone(r *sipcore.Refer, referrer *callRecord, why string) {
	finishRefer(r, 200, "OK")
	s.hangUp(referrer, why)
}

// referParkLocked parks the referrer's other party in the planned lot or
// slot.
func (s *Server) referParkLocked(r *sipcore.Refer, plan referPlan) func() {
	rec := s.records[r.Call]
	if status, reason := s.stillReferableLocked(rec); status != 0 {
		return func() { finishRefer(r, status, reason) }
	}
	other := rec.peer
	sl := plan.slot
	if sl == nil {
		l := s.parkingLot(plan.lot)
		if sl = l.fixedSlot; sl == nil || !sl.free() {
			sl = l.findFree()
		}
	}
	if sl == nil || !sl.free() {
		return func() { finishRefer(r, 486, "Busy Here") }
	}
	s.unlinkLocked(rec)
	other.call.SetLogger(other.call.Logger().With("slot", sl.name, "lot", sl.lot.cfg.Name))
	other.call.Logger().Info("parked by REFER from the other party", "parker", rec.caller.URI)
	s.placeWithParkerLocked(sl, other, rec.caller, rec.verified, ParkerFromRefer, "parked by REFER from "+rec.caller.URI)
	why := "transferred the other party to park in " + sl.name
	rec.hangupWhy = why
	return func() { s.referrerDone(r, rec, why) }
}

// referTransferLocked rings the REFER's target for the other party. While
// it rings the other party hears music, so a referrer that hangs up at once
// (as phones do after a blind transfer) takes nothing with it. If nobody
// answers, the other party goes back to a referrer still on the line, or
// is parked with the referrer as its parker, so a recall brings it back.
// The other party leaves the bridge now; the ringing starts once the
// REFER is answered.
func (s *Server) referTransferLocked(r *sipcore.Refer, plan referPlan) func() {
	rec := s.records[r.Call]
	if status, reason := s.stillReferableLocked(rec); status != 0 {
		return func() { finishRefer(r, status, reason) }
	}
	other := rec.peer
	s.unlinkLocked(rec)
	s.music.source().Add(other.call.Media())
	other.call.Logger().Info("transfer by REFER", "target", plan.target, "referrer", rec.caller.URI)
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.stopping || s.records[other.call] != other || other.ended || other.hangupWhy != "" {
			// Shutting down, or the other party hung up before it rang: a
			// referrer still on the line has nobody left to talk to.
			alone := s.records[rec.call] == rec && rec.peer == nil && rec.slot == nil && !rec.ended
			go func() {
				finishRefer(r, 487, "Request Terminated")
				if alone {
					s.hangUp(rec, "the other party hung up before the transfer rang")
				}
			}()
			return
		}
		s.connectWithLocked(other, connectOptions{
			target:     plan.target,
			replaces:   plan.replaces,
			referredBy: plan.referredBy,
			why:        "transferred by REFER",
			answered: func() {
				s.referrerDone(r, rec, "transferred the other party to "+plan.target)
			},
			failed: func(err error) {
				// The other party first: the NOTIFY may wait on a slow phone.
				s.transferFailed(rec, other, plan.target)
				status, reason := failureStatus(err)
				finishRefer(r, status, reason)
			},
			gone: func() {
				// The other party hung up while the target rang: the referrer,
				// if still on the line, has nobody left to talk to.
				finishRefer(r, 487, "Request Terminated")
				s.mu.Lock()
				alone := s.records[rec.call] == rec && rec.peer == nil && rec.slot == nil && !rec.ended
				s.mu.Unlock()
				if alone {
					s.hangUp(rec, "the other party hung up during the transfer")
				}
			},
		})
	}
}

// transferFailed puts the other party back with a referrer still on the
// line, or parks it with the referrer as parker.
func (s *Server) transferFailed(rec, other *callRecord, target string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.records[other.call] != other || other.ended || other.peer != nil || other.slot != nil || s.stopping {
		return
	}
	if s.records[rec.call] == rec && !rec.ended && rec.hangupWhy == "" && rec.peer == nil && rec.slot == nil {
		s.linkLocked(rec, other)
		s.emitCall(EventBridged, other, "transfer to "+target+" failed: back to "+rec.caller.URI)
		// Bridged before s.mu is let go, as in connect.go: an operation
		// that follows at once must find the media joined.
		bridgeMedia(other.call.Logger(), rec.call, other.call)
		return
	}
	s.parkWithParkerLocked(other, rec.caller, rec.verified, ParkerFromRefer,
		"transfer to "+target+" failed; the referrer left", "transfer to "+target+" failed")
}

// failureStatus is the SIP status a failed connect reports to a referrer.
func failureStatus(err error) (int, string) {
	var oe *sipcore.OriginateError
	if errors.As(err, &oe) {
		for _, a := range oe.Attempts {
			if a.Status >= 300 {
				return a.Status, a.Reason
			}
		}
		if oe.Canceled {
			return 408, "Request Timeout"
		}
	}
	return 503, "Service Unavailable"
}

// referReplaceLocked puts the referrer's other party in the place of the
// call the Replaces names: its slot, or its side of a bridge. That call and
// the referrer are hung up.
func (s *Server) referReplaceLocked(r *sipcore.Refer, plan referPlan) func() {
	rec := s.records[r.Call]
	x := plan.replace
	if status, reason := s.stillReferableLocked(rec); status != 0 {
		return func() { finishRefer(r, status, reason) }
	}
	if s.records[x.call] != x || x.ended || x.hangupWhy != "" {
		return func() { finishRefer(r, 481, "Call/Transaction Does Not Exist") }
	}
	other := rec.peer
	s.unlinkLocked(rec)
	log := other.call.Logger()
	switch {
	case x.slot != nil:
		sl := x.slot
		x.stopRecallLocked()
		s.takeOutLocked(sl, x)
		log.Info("attended transfer into a slot", "slot", sl.name, "replaced_call_id", x.call.ID.CallID)
		s.placeWithParkerLocked(sl, other, rec.caller, rec.verified, ParkerFromAttended, "attended transfer by "+rec.caller.URI)
	case x.peer != nil:
		y := x.peer
		s.unlinkLocked(x)
		s.linkLocked(other, y)
		s.emitCall(EventBridged, other, "attended transfer by "+rec.caller.URI)
		log.Info("attended transfer", "to_call_id", y.call.ID.CallID, "replaced_call_id", x.call.ID.CallID)
		bridgeMedia(log, other.call, y.call)
	default:
		s.linkLocked(rec, other) // x left meanwhile: nothing to replace
		bridgeMedia(log, rec.call, other.call)
		return func() { finishRefer(r, 481, "Call/Transaction Does Not Exist") }
	}
	x.hangupWhy = "replaced by an attended transfer"
	go s.hangUp(x, x.hangupWhy)
	why := "completed an attended transfer"
	rec.hangupWhy = why
	return func() { s.referrerDone(r, rec, why) }
}
