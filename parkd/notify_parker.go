package parkd

import (
	"context"
	"net/netip"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/emiago/sipgo/sip"
	"github.com/parkd/parkd/sipcore"
)

// messageTimeout bounds a MESSAGE to the parker: Timer F, 64*T1.
const messageTimeout = 32 * time.Second

// notifyParkerLocked tells the parker of a blind transfer where its call
// went, with a SIP MESSAGE ("Parked Alice <sip:alice@…> on 703 (main)"),
// when the lot says so. Only a parker parkd would also ring back is
// written to (known, not parkd itself, no name it may not resolve). The
// MESSAGE runs on its own: a refused or unanswered one changes nothing for
// the parked call. Callers hold s.mu.
func (s *Server) notifyParkerLocked(sl *slot, rec *callRecord) {
	if sl.lot.cfg.NotifyParker == NotifyParkerNone || !rec.parkerMayBeTold {
		return
	}
	target := s.recallParkerLocked(rec)
	if target == "" {
		return
	}
	m := sipcore.Message{
		Target: target,
		From:   sipcore.Party{Display: "Park " + sl.lot.cfg.Name, URI: "sip:" + sl.lot.cfg.Extension + "@" + s.entityHost()},
		Body:   parkedMessage(rec.caller, sl.name, sl.lot.cfg.Name),
		Proxy:  s.outboundProxy(),
	}
	log := rec.call.Logger()
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), messageTimeout)
		defer cancel()
		status, err := s.endpoint.SendMessage(ctx, m)
		switch {
		case err != nil:
			log.Info("the parker was not told the slot", "parker", target, "error", err)
		case status >= 300:
			log.Info("the parker's phone refused the slot message", "parker", target, "status", status)
		default:
			log.Debug("the parker was told the slot", "parker", target)
		}
	}()
}

// parkedMessage is the text of the MESSAGE to the parker: one line of
// printable text whatever the caller's display name holds, the slot always
// in it (a long name is cut, never the slot).
func parkedMessage(caller sipcore.Party, slot, lot string) string {
	who := clipRunes(printableText(caller.URI), maxMessageURI)
	if d := clipRunes(strings.TrimSpace(printableText(caller.Display)), maxMessageName); d != "" {
		who = d + " <" + who + ">"
	}
	return "Parked " + who + " on " + slot + " (" + lot + ")"
}

// Bounds of the caller's part of the text.
const (
	maxMessageName = 64
	maxMessageURI  = 120
)

// printableText turns control and bidi characters, and invalid UTF-8,
// into spaces.
func printableText(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == utf8.RuneError || unicode.Is(unicode.Bidi_Control, r) {
			return ' '
		}
		return r
	}, s)
}

func clipRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n]) + "…"
}

// parkerIsSenderOrVouched reports whether parkd may write to the parker
// named in a park INVITE: the INVITE came from a trusted or authenticated
// source, or the parker is on the very host that sent it (a phone that
// transferred its own call). Anything else would let one INVITE from a
// stranger aim a MESSAGE, and its retransmissions, at any address.
func parkerIsSenderOrVouched(inv *sipcore.Invite, parker sipcore.Party) bool {
	if inv.Identity.Verified() {
		return true
	}
	var u sip.Uri
	if sip.ParseUri(parker.URI, &u) != nil {
		return false
	}
	host, err := netip.ParseAddr(strings.Trim(u.Host, "[]"))
	src, err2 := netip.ParseAddrPort(inv.Source)
	return err == nil && err2 == nil && host.Unmap() == src.Addr().Unmap()
}
