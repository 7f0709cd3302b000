package apiclient

import (
	"context"
	"net/http"

	"github.com/parkd/parkd/parkd"
)

// to is the body of retrieve, move and transfer.
type to struct {
	To string `json:"to,omitempty"`
}

func (c *Client) Park(ctx context.Context, id string, req parkd.ParkRequest) (parkd.CallView, error) {
	var v parkd.CallView
	err := c.call(ctx, http.MethodPost, "/calls/"+seg(id)+"/park", nil, req, &v)
	return v, err
}

func (c *Client) Retrieve(ctx context.Context, slot string, req parkd.RetrieveRequest) (parkd.SlotView, error) {
	var v parkd.SlotView
	err := c.call(ctx, http.MethodPost, "/slots/"+seg(slot)+"/retrieve", nil, req, &v)
	return v, err
}

func (c *Client) Move(ctx context.Context, slot, dest string) (parkd.SlotView, error) {
	var v parkd.SlotView
	// "to" is required here, so it is sent even when empty and the daemon
	// names the field in its refusal.
	body := struct {
		To string `json:"to"`
	}{dest}
	err := c.call(ctx, http.MethodPost, "/slots/"+seg(slot)+"/move", nil, body, &v)
	return v, err
}

func (c *Client) Transfer(ctx context.Context, id, dest string) (parkd.CallView, error) {
	var v parkd.CallView
	err := c.call(ctx, http.MethodPost, "/calls/"+seg(id)+"/transfer", nil, to{dest}, &v)
	return v, err
}

func (c *Client) Hangup(ctx context.Context, id string) (parkd.CallView, error) {
	var v parkd.CallView
	err := c.call(ctx, http.MethodPost, "/calls/"+seg(id)+"/hangup", nil, nil, &v)
	return v, err
}

// Reload asks the daemon to re-read its config file (parkd.Reloader).
func (c *Client) Reload(ctx context.Context) (parkd.ReloadResult, error) {
	var v parkd.ReloadResult
	err := c.call(ctx, http.MethodPost, "/reload", nil, nil, &v)
	return v, err
}
