package apiclient

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/parkd/parkd/parkd"
)

func (c *Client) Status(ctx context.Context) (parkd.Status, error) {
	var st parkd.Status
	err := c.call(ctx, http.MethodGet, "/status", nil, nil, &st)
	return st, err
}

func (c *Client) Lots(ctx context.Context) ([]parkd.LotView, error) {
	var out struct {
		Lots []parkd.LotView `json:"lots"`
	}
	err := c.call(ctx, http.MethodGet, "/lots", nil, nil, &out)
	return out.Lots, err
}

func (c *Client) Slots(ctx context.Context, f parkd.SlotFilter) ([]parkd.SlotView, error) {
	var out struct {
		Slots []parkd.SlotView `json:"slots"`
	}
	err := c.call(ctx, http.MethodGet, "/slots", filter("lot", f.Lot, "state", f.State), nil, &out)
	return out.Slots, err
}

func (c *Client) Slot(ctx context.Context, slot string) (parkd.SlotView, error) {
	var v parkd.SlotView
	err := c.call(ctx, http.MethodGet, "/slots/"+seg(slot), nil, nil, &v)
	return v, err
}

func (c *Client) Calls(ctx context.Context, f parkd.CallFilter) ([]parkd.CallView, error) {
	var out struct {
		Calls []parkd.CallView `json:"calls"`
	}
	err := c.call(ctx, http.MethodGet, "/calls", filter("lot", f.Lot, "state", f.State), nil, &out)
	return out.Calls, err
}

func (c *Client) Call(ctx context.Context, id string) (parkd.CallView, error) {
	var v parkd.CallView
	err := c.call(ctx, http.MethodGet, "/calls/"+seg(id), nil, nil, &v)
	return v, err
}

func (c *Client) History(ctx context.Context, f parkd.HistoryFilter) (parkd.HistoryPage, error) {
	q := filter("lot", f.Lot, "slot", f.Slot, "caller", f.Caller, "outcome", f.Outcome, "cursor", f.Cursor, "call_id", f.CallID)
	// RFC 3339 with fractions, which an RFC 3339 parser reads: a console
	// paging by time must not lose the sub-second part.
	if !f.Since.IsZero() {
		q.Set("since", f.Since.Format(time.RFC3339Nano))
	}
	if !f.Until.IsZero() {
		q.Set("until", f.Until.Format(time.RFC3339Nano))
	}
	if f.Limit > 0 {
		q.Set("limit", strconv.Itoa(f.Limit))
	}
	var page parkd.HistoryPage
	err := c.call(ctx, http.MethodGet, "/history", q, nil, &page)
	return page, err
}

// filter builds a query from key, value pairs, leaving out empty values
// so that a zero filter matches everything.
func filter(kv ...string) url.Values {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	return q
}
