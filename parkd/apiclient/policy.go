package apiclient

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"

	"github.com/parkd/parkd/parkd"
)

func (c *Client) Policy(ctx context.Context, scope string) (parkd.PolicyView, error) {
	return c.policy(ctx, http.MethodGet, scope, nil)
}

func (c *Client) PatchPolicy(ctx context.Context, scope string, patch parkd.PolicyPatch) (parkd.PolicyView, error) {
	body, err := patchBody(patch)
	if err != nil {
		return parkd.PolicyView{}, err
	}
	return c.policy(ctx, http.MethodPatch, scope, body)
}

func (c *Client) ClearPolicy(ctx context.Context, scope string) (parkd.PolicyView, error) {
	return c.policy(ctx, http.MethodDelete, scope, nil)
}

func (c *Client) policy(ctx context.Context, method, scope string, body any) (parkd.PolicyView, error) {
	path, err := scopePath(scope)
	if err != nil {
		return parkd.PolicyView{}, err
	}
	var v parkd.PolicyView
	err = c.call(ctx, method, "/policies/"+path, nil, body, &v)
	return v, err
}

// scopePath maps a Client scope onto its route, escaping the name so a
// scope can never reach another route.
func scopePath(scope string) (string, error) {
	if scope == "defaults" {
		return scope, nil
	}
	kind, name, ok := strings.Cut(scope, "/")
	if ok && name != "" && (kind == "lots" || kind == "slots") {
		return kind + "/" + seg(name), nil
	}
	return "", &parkd.Error{Code: parkd.CodeInvalidField, Field: "scope",
		Message: fmt.Sprintf("scope %q is not defaults, lots/NAME or slots/NUMBER", scope)}
}

// patchBody is the PATCH document: Set's non-nil fields, and null for each
// cleared key. ring_group is the one Policy field without omitempty (an
// empty list is a value), so a nil one is dropped here, or it would clear.
func patchBody(p parkd.PolicyPatch) (map[string]json.RawMessage, error) {
	raw, err := json.Marshal(p.Set)
	if err != nil {
		return nil, &parkd.Error{Code: parkd.CodeInvalidField, Message: err.Error()}
	}
	body := map[string]json.RawMessage{}
	if err := json.Unmarshal(raw, &body); err != nil {
		return nil, &parkd.Error{Code: parkd.CodeInternal, Message: err.Error()}
	}
	if p.Set.RingGroup == nil {
		delete(body, "ring_group")
	}
	for _, key := range p.Clear {
		if _, set := body[key]; set {
			return nil, &parkd.Error{Code: parkd.CodeInvalidField, Field: key, Message: "both set and cleared"}
		}
		body[key] = json.RawMessage("null")
	}
	return body, nil
}
