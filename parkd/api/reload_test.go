package api

import (
	"context"
	"log/slog"
	"net/http"
	"slices"
	"testing"

	"github.com/parkd/parkd/parkd"
)

// reloadingClient is the fake with the daemon's reload capability.
type reloadingClient struct {
	*fakeClient
	result parkd.ReloadResult
	err    error
}

func (r *reloadingClient) Reload(context.Context) (parkd.ReloadResult, error) { return r.result, r.err }

// POST /api/v1/reload answers what changed; a broken config is 422
// invalid_config with the problem; a client without the capability is 503.
func TestReloadRoute(t *testing.T) {
	broken := &parkd.Error{Code: parkd.CodeInvalidConfig, Message: `config: lots[0].slots: "7x1" is not a range`}
	for _, tc := range []struct {
		name     string
		client   parkd.Client
		body     string
		status   int
		code     string
		reloaded []string
	}{
		{"applied", &reloadingClient{fakeClient: newFake(), result: parkd.ReloadResult{Lots: []string{"main", "sales"}, Retired: []string{"702"}}}, "", 200, "", []string{"main", "sales"}},
		{"empty object", &reloadingClient{fakeClient: newFake(), result: parkd.ReloadResult{Lots: []string{"main"}}}, "{}", 200, "", []string{"main"}},
		{"broken config", &reloadingClient{fakeClient: newFake(), err: broken}, "", 422, parkd.CodeInvalidConfig, nil},
		{"options it does not take", &reloadingClient{fakeClient: newFake()}, `{"force": true}`, 400, parkd.CodeInvalidField, nil},
		{"no reload capability", newFake(), "", 503, parkd.CodeUnavailable, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := newServer(tc.client, Options{Token: testToken, Log: slog.New(slog.DiscardHandler)})
			w := do(t, s, http.MethodPost, "/api/v1/reload", tc.body)
			if w.Code != tc.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tc.status, w.Body)
			}
			if tc.code != "" {
				if e := apiError(t, w); e.Code != tc.code || (tc.code == parkd.CodeInvalidConfig && e.Message != broken.Message) {
					t.Errorf("error %+v, want code %s", e, tc.code)
				}
				return
			}
			if got := decodeJSON[parkd.ReloadResult](t, w); !slices.Equal(got.Lots, tc.reloaded) {
				t.Errorf("lots %v, want %v", got.Lots, tc.reloaded)
			}
		})
	}
}
