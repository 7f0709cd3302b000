package interop

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// The daemon's HTTP API as a script would use it: the listener's address
// from the "api listening" log line (the tests ask for port 0), the token
// from the data directory.

var apiListening = regexp.MustCompile(`msg="api listening" addr=(127\.0\.0\.1:\d+)`)

// apiSlot is one entry of GET /api/v1/slots, as far as these tests read it.
type apiSlot struct {
	Lot   string `json:"lot"`
	Slot  string `json:"slot"`
	State string `json:"state"`
	Call  *struct {
		CallID string `json:"call_id"`
		State  string `json:"state"`
	} `json:"call"`
}

// slot returns the API's view of one slot.
func (d *daemon) slot(t *testing.T, number string) apiSlot {
	t.Helper()
	m := apiListening.FindStringSubmatch(d.log())
	if m == nil {
		t.Fatalf("parkd never logged its API address\n%s", d.logTail(40))
	}
	token, err := os.ReadFile(filepath.Join(filepath.Dir(d.logPath), "data", "token"))
	if err != nil {
		t.Fatalf("the API token: %v", err)
	}
	req, _ := http.NewRequest("GET", "http://"+m[1]+"/api/v1/slots", nil)
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	client := &http.Client{Timeout: 5 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		t.Fatalf("GET /api/v1/slots: %v", err)
	}
	defer res.Body.Close()
	var body struct {
		Slots []apiSlot `json:"slots"`
	}
	if res.StatusCode != 200 {
		t.Fatalf("GET /api/v1/slots: %s", res.Status)
	}
	if err := json.NewDecoder(res.Body).Decode(&body); err != nil {
		t.Fatalf("GET /api/v1/slots: %v", err)
	}
	for _, s := range body.Slots {
		if s.Slot == number {
			return s
		}
	}
	t.Fatalf("GET /api/v1/slots has no slot %s", number)
	return apiSlot{}
}

// waitSlot polls the API until the slot satisfies ok, and fails the test
// with the last state seen if it does not within the timeout.
func (d *daemon) waitSlot(t *testing.T, number string, timeout time.Duration, want string, ok func(apiSlot) bool) apiSlot {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := d.slot(t, number)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("slot %s is not %s after %s: %s\n%s", number, want, timeout, describeSlot(s), d.logTail(40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func describeSlot(s apiSlot) string {
	if s.Call == nil {
		return fmt.Sprintf("state %q, no call", s.State)
	}
	return fmt.Sprintf("state %q, call %s (%s)", s.State, s.Call.CallID, s.Call.State)
}

// parkedBy says the slot holds the call with this SIP Call-ID.
func parkedBy(callID string) func(apiSlot) bool {
	return func(s apiSlot) bool { return s.State == "parked" && s.Call != nil && s.Call.CallID == callID }
}

func slotFree(s apiSlot) bool { return s.State == "free" && s.Call == nil }
