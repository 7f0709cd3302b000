package parkd

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/media/prompts"
)

// decision is what an INVITE asked for, worked out under s.mu.
type decision struct {
	park     *slot // reserved for the new call
	queue    *lot  // the call waits in this lot's attendant queue
	retrieve *slot // its parked call is claimed by the new call
	parked   *callRecord
	// ofConsult: retrieve picks up, by Replaces, a call still in its
	// attended-park window (a consultation call, perhaps).
	ofConsult bool
	replace   *slot // attended park: the new call takes this slot from its consultation call (parked)
	empty     *lot  // nothing to retrieve, and the lot says so in words
	redirect  string
	code      int
	reason    string
	warning   string
	// lot is the lot of the slot decided on, read under s.mu: a reload
	// may move the slot to another lot once the lock is let go.
	lot *lot
}

func reject(code int, reason, format string, args ...any) decision {
	return decision{code: code, reason: reason, warning: fmt.Sprintf(format, args...)}
}

// nothingParked answers a retrieve that finds no call: 404, or, when the
// lot's empty_slot says prompt, "no call parked here" spoken.
func nothingParked(l *lot, format string, args ...any) decision {
	d := reject(404, "Not Found", format, args...)
	if l.cfg.EmptySlot == EmptySlotPrompt {
		d.empty = l
	}
	return d
}

// HandleInvite answers a new INVITE: park, retrieve, pick up, queue for
// the attendant, redirect or refuse, as decide works out under s.mu.
func (s *Server) HandleInvite(ctx context.Context, inv *sipcore.Invite) {
	s.mu.Lock()
	d := s.decide(inv)
	if sl := cmp.Or(d.park, d.retrieve, d.replace); sl != nil {
		d.lot = sl.lot
	}
	s.mu.Unlock()
	switch {
	case d.park != nil:
		s.park(ctx, inv, d.park, d.lot)
	case d.retrieve != nil:
		s.retrieve(inv, d, d.lot)
	case d.replace != nil:
		s.completeAttendedPark(inv, d.replace, d.parked, d.lot)
	case d.empty != nil:
		log := inv.Log.With("lot", d.empty.cfg.Name)
		s.playThenHangup(inv, s.promptsOf(d.empty).Clip(prompts.NoCallParked), d.warning, log)
	case d.queue != nil:
		s.enqueue(inv, d.queue)
	case d.redirect != "":
		inv.Redirect(d.redirect, d.warning)
	default:
		inv.Reject(d.code, d.reason, d.warning)
	}
}

// decide reserves a slot to park in or takes a parked call out to retrieve
// it, so that two INVITEs racing for one slot cannot both win.
func (s *Server) decide(inv *sipcore.Invite) decision {
	if inv.Replaces != nil {
		return s.decideReplaces(inv)
	}
	target := inv.Target
	if l, ok := s.byExt[target]; ok {
		return s.decidePark(l, map[string]bool{})
	}
	if l, ok := s.byAttendant[target]; ok {
		return s.decideQueue(l)
	}
	if l, ok := s.byRetr[target]; ok {
		sl := l.longestWaiting()
		if sl == nil {
			return nothingParked(l, "no call is parked in lot %s", l.cfg.Name)
		}
		return s.takeOut(inv, sl)
	}
	sl, ok := s.bySlot[target]
	if !ok {
		return reject(404, "Not Found", "%q is not a park extension or slot", target)
	}
	return s.decideSlot(inv, sl)
}

func (s *Server) decideSlot(inv *sipcore.Invite, sl *slot) decision {
	l := sl.lot
	action := l.slotAction
	if sl.parked == nil && !sl.reserved {
		if action == "retrieve" {
			return nothingParked(l, "slot %s is empty", sl.name)
		}
		sl.reserved = true
		return decision{park: sl}
	}
	// The slot is taken. A transfer must never bridge two callers.
	if inv.ReferredBy != nil {
		if l.cfg.TransferToOccupied == "next_free" {
			if free := l.findFree(); free != nil {
				free.reserved = true
				return decision{park: free}
			}
			return reject(486, "Busy Here", "slot %s is occupied and lot %s is full", sl.name, l.cfg.Name)
		}
		return reject(486, "Busy Here", "slot %s is occupied", sl.name)
	}
	if action == "park" || action == "direct_park" || sl.parked == nil || sl.retrieving {
		return reject(486, "Busy Here", "slot %s is occupied", sl.name)
	}
	return s.takeOut(inv, sl)
}

// decidePark finds a free slot in l, or applies its when_full rule.
func (s *Server) decidePark(l *lot, seen map[string]bool) decision {
	if l.fixedSlot != nil {
		if l.fixedSlot.free() {
			l.fixedSlot.reserved = true
			return decision{park: l.fixedSlot}
		}
	} else if sl := l.findFree(); sl != nil {
		sl.reserved = true
		return decision{park: sl}
	}
	seen[l.cfg.Name] = true
	rule, arg, _ := strings.Cut(l.cfg.WhenFull, ":")
	switch rule {
	case "overflow":
		if next, ok := s.byLot[arg]; ok && !seen[arg] {
			return s.decidePark(next, seen)
		}
	case "forward":
		return decision{redirect: arg, warning: fmt.Sprintf("lot %s is full", l.cfg.Name)}
	}
	return reject(486, "Busy Here", "lot %s is full", l.cfg.Name)
}

// decideReplaces serves a BLF pickup: an INVITE whose Replaces names a
// parked call's dialog (to-tag is parkd's tag, from-tag the caller's).
func (s *Server) decideReplaces(inv *sipcore.Invite) decision {
	r := inv.Replaces
	for c, sl := range s.inSlot {
		if c.ID.CallID == r.CallID && c.ID.LocalTag == r.ToTag && c.ID.RemoteTag == r.FromTag {
			// A transferee's INVITE carries the transferor's Referred-By
			// (RFC 3892), naming the phone that made the consultation
			// call; a BLF pickup does not. Anything else is a pickup: a
			// call that parked itself a moment ago (a PBX's own park INVITE
			// looks the same) is never hung up on a stranger's word.
			if s.consultingLocked(sl.parked) && referredByConsultant(inv, sl.parked) {
				return s.decideAttended(sl)
			}
			return s.takeOut(inv, sl)
		}
	}
	if d, ok := s.decideEndedConsult(inv); ok {
		return d
	}
	return reject(481, "Call/Transaction Does Not Exist", "Replaces names no parked call")
}

// referredByConsultant reports whether inv may complete the attended park
// of consult: its Referred-By names the phone that made the consultation
// call (user and host), or it comes from a trusted or authenticated source.
func referredByConsultant(inv *sipcore.Invite, consult *callRecord) bool {
	if inv.ReferredBy == nil {
		return false
	}
	if inv.Identity.Verified() {
		return true
	}
	return sameUserHost(inv.ReferredBy.URI, consult.caller.URI)
}

// sameUserHost compares two SIP URIs by user and host, the identity a
// phone's AOR carries whatever port or parameters come with it.
func sameUserHost(a, b string) bool {
	var ua, ub sip.Uri
	if sip.ParseUri(a, &ua) != nil || sip.ParseUri(b, &ub) != nil {
		return false
	}
	return ua.User != "" && ua.User == ub.User && strings.EqualFold(ua.Host, ub.Host)
}

// takeOut claims a parked call for one retriever: a second one dialling the
// slot while the first is being answered gets 486. Someone the lot's
// retrieve_allow does not name gets 403 and the call stays parked.
func (s *Server) takeOut(inv *sipcore.Invite, sl *slot) decision {
	if !mayRetrieve(sl.lot, inv.Identity) {
		return reject(403, "Forbidden", "%.64q may not retrieve calls parked in lot %s", inv.Identity.User, sl.lot.cfg.Name)
	}
	if sl.parked == nil || sl.retrieving {
		return reject(486, "Busy Here", "slot %s is being picked up", sl.name)
	}
	sl.retrieving = true
	// Perhaps the transferee of an attended park whose INVITE lacked
	// Referred-By: its transferor may hang the consultation call up before
	// this pickup is even ACKed (parkPickerInsteadLocked).
	ofConsult := inv.Replaces != nil && s.consultingLocked(sl.parked)
	return decision{retrieve: sl, parked: sl.parked, ofConsult: ofConsult}
}
