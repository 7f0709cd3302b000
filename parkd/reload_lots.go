package parkd

import (
	"cmp"
	"slices"

	"github.com/parkd/parkd/parkd/config"
	"github.com/parkd/parkd/sipcore"
	"github.com/parkd/parkd/sipcore/media"
)

// buildLots makes the lots of cfg with their prompts read from disk; a
// prompt that cannot be read fails the whole config.
func buildLots(cfg *Config) ([]*lot, error) {
	lots := make([]*lot, 0, len(cfg.Lots))
	for i := range cfg.Lots {
		l := newLot(cfg, i)
		var err error
		if l.prompts, err = loadPrompts(cfg.Lots[i], config.LotKey(i)); err != nil {
			return nil, err
		}
		lots = append(lots, l)
	}
	return lots, nil
}

// endpointSettings are the SIP settings of cfg that a reload applies.
func endpointSettings(cfg *Config) (sipcore.Settings, error) {
	fileUsers, err := cfg.AuthFileUsers()
	if err != nil {
		return sipcore.Settings{}, err
	}
	allow, err := cfg.AllowNets()
	if err != nil {
		return sipcore.Settings{}, err
	}
	trusted, err := cfg.TrustedNets()
	if err != nil {
		return sipcore.Settings{}, err
	}
	latch, _ := media.ParseLatch(cfg.RTP.Latch) // checked by Validate
	b := cfg.BLF
	return sipcore.Settings{
		Allow: allow, Trusted: trusted, Auth: sipAuth(*cfg, fileUsers),
		RateLimit:       sipcore.RateLimit{PerSecond: cfg.SIP.RateLimit.PerSource.PerSecond(), Burst: cfg.SIP.RateLimit.Burst},
		MaxTransactions: cfg.SIP.MaxTransactions, MaxPendingInvites: cfg.SIP.MaxPendingInvites,
		Subscriptions: sipcore.SubscriptionConfig{
			MinExpires: b.MinExpires.D(), MaxExpires: b.MaxExpires.D(), DefaultExpires: b.DefaultExpires.D(),
			MaxPerSource: b.MaxPerSource, MaxTotal: b.MaxTotal, NotifyTimeout: b.NotifyTimeout.D(),
		},
		RTPTimeout: cfg.RTP.Timeout.D(),
		RTPLatch:   latch,
	}, nil
}

// indexLotsLocked rebuilds the dial-string and name indexes from s.lots
// and the retired slots. Callers hold s.mu (or own s alone).
func (s *Server) indexLotsLocked() {
	clear(s.byExt)
	clear(s.byRetr)
	clear(s.byLot)
	clear(s.byAttendant)
	clear(s.bySlot)
	for i, l := range s.lots {
		lc := l.cfg
		s.byLot[lc.Name] = l
		s.byExt[lc.Extension] = l
		if i == 0 {
			s.byExt[ParkAlias] = l
		}
		if lc.RetrieveExtension != "" {
			s.byRetr[lc.RetrieveExtension] = l
		}
		if config.CheckDialString(lc.AttendantExtension) == nil {
			s.byAttendant[lc.AttendantExtension] = l
		}
		for _, sl := range l.slots {
			s.bySlot[sl.name] = sl
		}
	}
	for _, sl := range s.retired {
		s.bySlot[sl.name] = sl
	}
}

// adoptLotsLocked makes lots the lots in force. A slot that stays (by
// number, whatever lot it is in now) is the same slot, call and all,
// moved into its new lot; a lot that stays keeps its queue and its place
// for find_slot: next. Callers hold s.mu.
func (s *Server) adoptLotsLocked(lots []*lot) (added, removed, retired []string) {
	oldSlots := s.bySlot
	s.bySlot = make(map[string]*slot, len(oldSlots))
	kept := map[*slot]bool{}
	for _, l := range lots {
		for i, fresh := range l.slots {
			sl := oldSlots[fresh.name]
			if sl == nil {
				added = append(added, fresh.name)
				continue
			}
			sl.lot, sl.retired, sl.index = l, false, i
			l.slots[i] = sl
			if l.fixedSlot == fresh {
				l.fixedSlot = sl
			}
			kept[sl] = true
		}
		if old := s.byLot[l.cfg.Name]; old != nil {
			l.answering = old.answering
			if old.lastUsed >= 0 && old.lastUsed < len(old.slots) {
				l.lastUsed = slices.Index(l.slots, old.slots[old.lastUsed])
			}
		}
	}
	for _, sl := range oldSlots {
		sl.wait = waitLink{} // the lists they were in are the old lots'
	}
	for _, l := range lots {
		l.waiting.rebuild(l.slots)
	}
	s.retired = s.retired[:0]
	for name, sl := range oldSlots {
		switch {
		case kept[sl]:
		case sl.empty() && !sl.retrieving:
			// Marked too, so a lot that went (still named by a queued
			// call or a bridge's home lot) never parks into it.
			sl.retired = true
			removed = append(removed, name)
		default:
			if !sl.retired {
				retired = append(retired, name)
			}
			sl.retired = true
			s.retired = append(s.retired, sl)
		}
	}
	slices.SortFunc(s.retired, func(a, b *slot) int { return compareSlots(a.name, b.name) })
	for _, list := range [][]string{added, removed, retired} {
		slices.SortFunc(list, compareSlots)
	}
	s.lots = lots
	s.policyGen++
	s.indexLotsLocked()
	s.moveRecordsLocked()
	return added, removed, retired
}

// moveRecordsLocked points every call at the lot now in force by the
// name of the lot it was in; a call whose lot went keeps the old one (its
// queue place and prompts) until it ends. Callers hold s.mu.
func (s *Server) moveRecordsLocked() {
	var queued []*callRecord
	for _, rec := range s.records {
		rec.homeLot = s.currentLot(rec.homeLot)
		switch {
		case rec.slot != nil:
			rec.lot = rec.slot.lot
		case rec.queued:
			queued = append(queued, rec)
		}
	}
	// Every queue is rebuilt from the calls waiting, in the order they
	// came: a lot removed by one reload and back in the next gets its
	// callers back.
	slices.SortFunc(queued, func(a, b *callRecord) int {
		return cmp.Or(a.since.Compare(b.since), cmp.Compare(idNumber(a.id), idNumber(b.id)))
	})
	for _, rec := range queued {
		rec.lot.queue = nil
	}
	for _, rec := range queued {
		rec.lot = s.currentLot(rec.lot)
		rec.lot.queue = append(rec.lot.queue, rec)
	}
}

// currentLot is the lot in force with l's name, or l when a reload
// removed it (nil stays nil). Callers hold s.mu.
func (s *Server) currentLot(l *lot) *lot {
	if l == nil {
		return nil
	}
	if now := s.byLot[l.cfg.Name]; now != nil {
		return now
	}
	return l
}

// parkingLot is where a call that last waited in l is parked again: the
// lot in force with its name, else (a reload removed it, or it is nil)
// the first lot. Callers hold s.mu.
func (s *Server) parkingLot(l *lot) *lot {
	if l != nil {
		if now := s.byLot[l.cfg.Name]; now != nil {
			return now
		}
	}
	return s.lots[0]
}

// dropRetiredLocked forgets a retired slot once its call has left it:
// watchers see it empty, then their subscription ends. Callers hold s.mu.
func (s *Server) dropRetiredLocked(sl *slot) {
	if !sl.retired || !sl.empty() || sl.retrieving || s.bySlot[sl.name] != sl {
		return
	}
	delete(s.bySlot, sl.name)
	s.retired = slices.DeleteFunc(s.retired, func(x *slot) bool { return x == sl })
	s.publish(Event{Kind: EventRemoved, Detail: "retired slot emptied"}, sl)
}

// compareSlots orders slot numbers numerically when they have equal length.
func compareSlots(a, b string) int {
	switch {
	case slotLess(a, b):
		return -1
	case slotLess(b, a):
		return 1
	}
	return 0
}
