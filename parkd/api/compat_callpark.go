package api

import (
	"net/http"
	"regexp"
	"slices"
	"time"

	"github.com/parkd/parkd/parkd"
)

// The call park server settings API (GET/POST /api/call_park) reads and
// sets the first lot's recall settings as live overrides.

// Its recall_to values, and parkd's.
var callParkRecallTo = map[string]string{
	"USER_ONLY":                  parkd.RecallParkerOnly,
	"USER_FIRST_THEN_RING_GROUP": parkd.RecallParkerThenGroup,
	"RING_GROUP_ONLY":            parkd.RecallGroupOnly,
}

// Its ranges (seconds).
const (
	callParkMinTime = 60
	callParkMaxTime = 900
)

var callParkExtension = regexp.MustCompile(`^[0-9]{3,64}$`)

// callPark is the settings object, as GET answers and POST takes it.
type callPark struct {
	Enabled             *bool   `json:"enabled"`
	ExtensionNumber     *string `json:"extension_number"`
	RecallTo            *string `json:"recall_to"`
	RecallTime          *int    `json:"recall_time"`
	RecallRingGroupTime *int    `json:"recall_ring_group_time"`
	RingGroupID         *string `json:"ring_group_id"`
	// PromptFileID is taken and ignored: parkd plays no park prompt.
	PromptFileID *string `json:"prompt_file_id,omitempty"`
	// GET also shows the prompt file, which parkd never has.
	PromptFileName *string `json:"prompt_file_name,omitempty"`
	PromptFileSize *int    `json:"prompt_file_size,omitempty"`
	PromptFileURL  *string `json:"prompt_file_url,omitempty"`
}

func (s *server) getCallPark(w http.ResponseWriter, r *http.Request) {
	lot, pol, err := s.callParkLot(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	eff := pol.Effective
	recallTo := ""
	for k, v := range callParkRecallTo {
		if v == *eff.RecallTo {
			recallTo = k
		}
	}
	group := ""
	for _, name := range sortedKeys(s.ringGroups) {
		if slices.Equal(s.ringGroups[name], eff.RingGroup) {
			group = name
			break
		}
	}
	yes, empty, zero := true, "", 0
	recall, ringFor := int(eff.RecallAfter.D()/time.Second), int(eff.RingGroupFor.D()/time.Second)
	s.reply(w, r, callPark{
		Enabled: &yes, ExtensionNumber: &lot.Extension, RecallTo: &recallTo,
		RecallTime: &recall, RecallRingGroupTime: &ringFor, RingGroupID: &group,
		PromptFileName: &empty, PromptFileSize: &zero, PromptFileURL: &empty,
	})
}

func decodeCallPark(b []byte) (callPark, error) {
	var v callPark
	return v, decodeObject(b, &v, nil)
}

func (s *server) postCallPark(w http.ResponseWriter, r *http.Request) {
	body, ok := decodeBody(s, w, r, decodeCallPark)
	if !ok {
		return
	}
	lot, _, err := s.callParkLot(r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	set, err := s.callParkPolicy(body, lot)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if _, err := s.c.PatchPolicy(r.Context(), "lots/"+lot.Name, parkd.PolicyPatch{Set: set}); err != nil {
		s.fail(w, r, callParkField(err))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// callParkPolicy checks a POST the way that API does and turns it into an
// override of the lot.
func (s *server) callParkPolicy(b callPark, lot parkd.LotView) (parkd.Policy, error) {
	var p parkd.Policy
	if b.Enabled != nil && !*b.Enabled {
		return p, invalid("enabled", "parkd cannot switch parking off through this API; remove the lot from the config")
	}
	if b.ExtensionNumber != nil {
		switch {
		case !callParkExtension.MatchString(*b.ExtensionNumber):
			return p, invalid("extension_number", "%q is not 3–64 digits", *b.ExtensionNumber)
		case *b.ExtensionNumber != lot.Extension:
			return p, invalid("extension_number", "the park extension is %s and cannot change while parkd runs; set lots[0].extension in the config", lot.Extension)
		}
	}
	for _, t := range []struct {
		field string
		v     *int
		dst   **parkd.Duration
	}{{"recall_time", b.RecallTime, &p.RecallAfter}, {"recall_ring_group_time", b.RecallRingGroupTime, &p.RingGroupFor}} {
		if t.v == nil {
			continue
		}
		if *t.v < callParkMinTime || *t.v > callParkMaxTime {
			return p, invalid(t.field, "%d is outside %d–%d seconds", *t.v, callParkMinTime, callParkMaxTime)
		}
		d := parkd.Duration(time.Duration(*t.v) * time.Second)
		*t.dst = &d
	}
	if b.RecallTo == nil {
		return p, nil
	}
	recallTo, ok := callParkRecallTo[*b.RecallTo]
	if !ok {
		return p, invalid("recall_to", "%q is not USER_ONLY, USER_FIRST_THEN_RING_GROUP or RING_GROUP_ONLY", *b.RecallTo)
	}
	p.RecallTo = &recallTo
	if recallTo == parkd.RecallParkerOnly {
		return p, nil
	}
	if b.RingGroupID == nil || *b.RingGroupID == "" {
		return p, invalid("ring_group_id", "is required with recall_to %s", *b.RecallTo)
	}
	group, ok := s.ringGroups[*b.RingGroupID]
	if !ok {
		return p, invalid("ring_group_id", "%q is not one of the config's ring_groups (%v)", *b.RingGroupID, sortedKeys(s.ringGroups))
	}
	p.RingGroup = slices.Clone(group)
	return p, nil
}

// callParkField names a policy refusal by this API's field.
func callParkField(err error) error {
	pe, ok := err.(*parkd.Error)
	if !ok || pe.Code != parkd.CodeInvalidField {
		return err
	}
	names := map[string]string{"recall_after": "recall_time", "ring_group_for": "recall_ring_group_time", "recall_to": "recall_to", "ring_group": "ring_group_id"}
	out := *pe
	if n, ok := names[pe.Field]; ok {
		out.Field = n
	}
	return &out
}

// callParkLot is the lot this API manages: the first, and its policy.
func (s *server) callParkLot(r *http.Request) (parkd.LotView, parkd.PolicyView, error) {
	lots, err := s.c.Lots(r.Context())
	if err != nil {
		return parkd.LotView{}, parkd.PolicyView{}, err
	}
	if len(lots) == 0 {
		return parkd.LotView{}, parkd.PolicyView{}, &parkd.Error{Code: parkd.CodeNoSuchLot, Message: "parkd has no lot"}
	}
	pol, err := s.c.Policy(r.Context(), "lots/"+lots[0].Name)
	return lots[0], pol, err
}
