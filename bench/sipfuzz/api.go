package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"
)

// canaryState asks the API whether the canary's call is still parked.
func canaryState(apiURL, token, callID string) string {
	req, err := http.NewRequest("GET", strings.TrimRight(apiURL, "/")+"/api/v1/calls", nil)
	if err != nil {
		return "unknown: " + err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+token)
	client := &http.Client{Timeout: 5 * time.Second}
	res, err := client.Do(req)
	if err != nil {
		return "unknown: " + err.Error()
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return "unknown: API answered " + res.Status
	}
	var body struct {
		Calls []struct {
			CallID string `json:"call_id"`
			State  string `json:"state"`
			Lot    string `json:"lot"`
			Slot   string `json:"slot"`
		} `json:"calls"`
	}
	if err := json.NewDecoder(io.LimitReader(res.Body, 16<<20)).Decode(&body); err != nil {
		return "unknown: " + err.Error()
	}
	for _, c := range body.Calls {
		if c.CallID == callID {
			if c.State == "parked" {
				return fmt.Sprintf("yes (API: parked in lot %s slot %s)", c.Lot, c.Slot)
			}
			return "no: the API shows it " + c.State
		}
	}
	return "no: the API does not list the call"
}
