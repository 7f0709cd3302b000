package api

import (
	"net/http"

	"github.com/parkd/parkd/parkd"
)

// scopeOf is the Client's scope string for the route that matched.
func scopeOf(r *http.Request) string {
	if name := r.PathValue("name"); name != "" {
		return "lots/" + name
	}
	if slot := r.PathValue("slot"); slot != "" {
		return "slots/" + slot
	}
	return "defaults"
}

func (s *server) getPolicy(w http.ResponseWriter, r *http.Request) {
	v, err := s.c.Policy(r.Context(), scopeOf(r))
	s.policyReply(w, r, v, err)
}

func (s *server) patchPolicy(w http.ResponseWriter, r *http.Request) {
	b, err := readBody(w, r)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	patch, err := decodePolicyPatch(b)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := s.c.PatchPolicy(r.Context(), scopeOf(r), patch)
	s.policyReply(w, r, v, err)
}

func (s *server) clearPolicy(w http.ResponseWriter, r *http.Request) {
	v, err := s.c.ClearPolicy(r.Context(), scopeOf(r))
	s.policyReply(w, r, v, err)
}

func (s *server) policyReply(w http.ResponseWriter, r *http.Request, v parkd.PolicyView, err error) {
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if v.Sources == nil {
		v.Sources = map[string]parkd.PolicySource{}
	}
	s.reply(w, r, v)
}

// decodePolicyPatch reads a PATCH body: an object of policy keys where
// null clears the key from the live override and any other value sets it.
// The keys are parkd.Policy's own JSON names, so a key the domain adds is
// patchable here without a change.
func decodePolicyPatch(b []byte) (parkd.PolicyPatch, error) {
	var p parkd.PolicyPatch
	err := decodeObject(b, &p.Set, func(key string) { p.Clear = append(p.Clear, key) })
	if err != nil {
		return parkd.PolicyPatch{}, err
	}
	return p, nil
}
