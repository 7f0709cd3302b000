package tui

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/parkd/parkd/parkd"
)

// viewDetail draws what is known about the selection: the call, its
// story so far, and (for a slot) the effective recall policy with the
// layer each value comes from.
func (m *model) viewDetail(r rect, now time.Time) []string {
	if r.h <= 0 {
		return nil
	}
	title, body := m.detailBody(r, now)
	lines := append([]string{m.paneTitle(title, r.w, false)}, body...)
	return padLines(lines, r.w, r.h)
}

func (m *model) detailBody(r rect, now time.Time) (string, []string) {
	st := m.st
	compact := r.h <= 5 // the narrow layout: two or three lines, no sections
	var call *parkd.CallView
	var slot *slotState
	title := "Detail"
	if m.focus == paneQueue {
		call = m.selectedQueued()
		if call == nil {
			return "Detail", []string{st.dim.Render(" select a queued call or a slot")}
		}
		title = fmt.Sprintf("Queued call · position %d in %s", call.Position, call.Lot)
	} else {
		slot = m.selectedSlot()
		if slot == nil {
			return "Detail", nil
		}
		call = slot.Call
		f := m.slotFacts(slot, now)
		title = fmt.Sprintf("Slot %s %s %s", slot.Slot, f.look.sym, f.look.word)
		if slot.Retired {
			title += " · retired: no longer in the config, goes when its call leaves"
		}
	}

	var lines []string
	kv := func(k, v string) { lines = append(lines, " "+st.dim.Render(fit(k, 9))+v) }
	if call != nil {
		if compact {
			lines = append(lines, " "+m.callSummary(call, slot, now))
		} else {
			kv("caller", st.caller.Render(callerLine(call.Caller))+st.dim.Render(" "+call.Caller.URI))
			if call.Parker != nil {
				from := ""
				if call.ParkerFrom != "" {
					from = " (" + call.ParkerFrom + ")"
				}
				kv("parker", partyName(*call.Parker)+st.dim.Render(" "+call.Parker.URI+from))
			} else if slot != nil {
				kv("parker", st.dim.Render("unknown: a recall skips to the ring group"))
			}
			if slot != nil {
				f := m.slotFacts(slot, now)
				kv("parked", f.parked+st.dim.Render(" since "+call.ParkedAt.In(now.Location()).Format("15:04:05")))
				rc := f.recallSt.Render(f.recall)
				if call.Recalls > 0 {
					rc += st.dim.Render(fmt.Sprintf(" · round %d", call.Recalls))
				}
				kv("recall", rc)
			} else {
				kv("waiting", clockDur(now.Sub(call.Since))+st.dim.Render(" since "+call.Since.In(now.Location()).Format("15:04:05")))
				if call.RingingTo != "" {
					kv("ringing", st.retrieving.Render(call.RingingTo))
				}
			}
		}
	} else if slot != nil {
		lines = append(lines, " "+st.dim.Render("free · p parks the selected queued call here"))
	}
	if slot != nil && !compact {
		kv("BLF", fmt.Sprintf("%d watching", slot.Subscribers))
	}
	if op := m.operatorOf(call, slot); op != "" && !compact {
		kv("my phone", st.dim.Render(op+" (enter rings it)"))
	}

	if call != nil {
		lines = append(lines, m.historyLines(call, r.w, compact)...)
	}
	if slot != nil {
		lines = append(lines, m.policyLines(slot, r.w, compact)...)
	}
	return title, lines
}

// callSummary is a call on one line, for the compact pane.
func (m *model) callSummary(c *parkd.CallView, slot *slotState, now time.Time) string {
	parts := []string{m.st.caller.Render(callerLine(c.Caller))}
	if c.Parker != nil {
		parts = append(parts, "by "+partyName(*c.Parker))
	}
	if slot != nil {
		f := m.slotFacts(slot, now)
		parts = append(parts, "parked "+f.parked, f.recallSt.Render(recallPhrase(f)))
	} else {
		parts = append(parts, "waiting "+clockDur(now.Sub(c.Since)))
		if c.RingingTo != "" {
			parts = append(parts, m.st.retrieving.Render("ringing "+shortURI(c.RingingTo)))
		} else if op := m.operatorOf(c, nil); op != "" {
			parts = append(parts, m.st.dim.Render("enter rings "+shortURI(op)))
		}
	}
	return strings.Join(parts, m.st.dim.Render(" · "))
}

func recallPhrase(f facts) string {
	if f.look.word == "parked" || f.look.word == "OVERDUE" {
		return "recall " + f.recall
	}
	return f.recall
}

// operatorOf is "my phone" for the selection: its lot's operator.
func (m *model) operatorOf(c *parkd.CallView, s *slotState) string {
	if m.board == nil {
		return ""
	}
	lot := -1
	switch {
	case s != nil:
		lot = s.lot
	case c != nil:
		lot = m.board.lotIndex(c.Lot)
	}
	if lot < 0 || lot >= len(m.board.lots) {
		return ""
	}
	return m.board.lots[lot].view.Operator
}

// historyLines is the call's story so far, oldest first.
func (m *model) historyLines(c *parkd.CallView, w int, compact bool) []string {
	st := m.st
	h := m.detail.history[c.CallID]
	var out []string
	if !compact {
		out = append(out, "", " "+st.bold.Render("History"))
	}
	switch {
	case h == nil || (h.loading && len(h.val.Entries) == 0):
		if !compact {
			out = append(out, st.dim.Render(" loading…"))
		}
		return out
	case h.err != nil:
		if !compact {
			out = append(out, st.dim.Render(" not available: "+errText(h.err)))
		}
		return out
	case len(h.val.Entries) == 0:
		if !compact {
			out = append(out, st.dim.Render(" nothing yet"))
		}
		return out
	}
	entries := slices.Clone(h.val.Entries)
	slices.Reverse(entries)
	if compact {
		var parts []string
		for _, e := range entries {
			parts = append(parts, e.Outcome+" "+e.Time.In(m.now().Location()).Format("15:04:05"))
		}
		return []string{" " + st.dim.Render("history ") + strings.Join(parts, st.dim.Render(" · "))}
	}
	for _, e := range entries {
		line := " " + st.dim.Render(e.Time.In(m.now().Location()).Format("15:04:05")) + " " + fit(e.Outcome, 14) + fit(e.Slot, 5) + " " + e.Detail
		out = append(out, line)
	}
	return out
}

// policyLines is the slot's effective recall policy, each value with
// where it comes from.
func (m *model) policyLines(s *slotState, w int, compact bool) []string {
	st := m.st
	scope := "slots/" + s.Slot
	p := m.detail.policy[scope]
	var out []string
	if !compact {
		out = append(out, "", " "+st.bold.Render("Recall policy")+st.dim.Render(" · e edits"))
	}
	switch {
	case p == nil || (p.loading && p.val.Scope == ""):
		if !compact {
			out = append(out, st.dim.Render(" loading…"))
		}
		return out
	case p.err != nil:
		return append(out, st.dim.Render(" policy not available: "+errText(p.err)))
	}
	eff, src := p.val.Effective, p.val.Sources
	if compact {
		return []string{" " + st.dim.Render("policy ") + policySummary(eff)}
	}
	wide := w >= 56
	for _, f := range policyFields {
		v := effectiveText(f, eff)
		out = append(out, " "+fit(f.label, 16)+fit(v, 18)+" "+st.dim.Render(sourceText(src[f.key], f.key, wide)))
	}
	return out
}

// policySummary is a policy in one line: "recall 45s → parker 30s, group
// 30s · max 3 · then repark".
func policySummary(p parkd.Policy) string {
	get := func(i int) string { return effectiveText(policyFields[i], p) }
	var steps []string
	to, _ := policyFields[2].get(p)
	if to != parkd.RecallGroupOnly {
		steps = append(steps, "parker "+get(1))
	}
	if to != parkd.RecallParkerOnly && len(p.RingGroup) > 0 {
		steps = append(steps, "group "+get(4))
	}
	if len(steps) == 0 {
		steps = append(steps, "nobody")
	}
	return fmt.Sprintf("recall %s → %s · max %s · then %s", get(0), strings.Join(steps, ", "), get(7), get(5))
}
