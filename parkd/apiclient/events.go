package apiclient

import (
	"context"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/parkd/parkd/parkd"
)

// eventBuffer absorbs a burst (a lot filling up) while the consumer draws.
const eventBuffer = 256

// Subscribe opens the event stream after sequence number after. A refusal
// (401, 503, daemon down) comes back here; afterwards the channel closes
// when the stream ends for any reason, and the consumer resubscribes with
// the last Seq it saw: reconnecting is its call, not ours.
func (c *Client) Subscribe(ctx context.Context, after uint64) (<-chan parkd.Event, error) {
	ctx, cancel := context.WithCancelCause(ctx)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.api+"/events", nil)
	if err != nil {
		cancel(nil)
		return nil, &parkd.Error{Code: parkd.CodeInvalidField, Message: err.Error()}
	}
	req.Header.Set("Accept", "text/event-stream")
	if after > 0 {
		req.Header.Set("Last-Event-ID", strconv.FormatUint(after, 10))
	}
	resp, err := c.openStream(req, cancel)
	if err != nil {
		cancel(nil)
		return nil, err
	}
	ch := make(chan parkd.Event, eventBuffer)
	go func() {
		defer close(ch)
		defer cancel(nil)
		defer resp.Body.Close()
		readEvents(ctx, resp.Body, ch)
	}()
	return ch, nil
}

// openStream sends the request with the per-request timeout bounding only
// the wait for the response headers: the stream itself may idle for hours.
func (c *Client) openStream(req *http.Request, cancel context.CancelCauseFunc) (*http.Response, error) {
	var timer *time.Timer
	if c.timeout > 0 {
		timer = time.AfterFunc(c.timeout, func() { cancel(errTimedOut) })
	}
	resp, err := c.do(req)
	if timer != nil && !timer.Stop() && err == nil {
		// The headers made it just as the timer fired; the stream is
		// already cancelled, so report what the consumer would see.
		resp.Body.Close()
		return nil, c.transportError(req.Context(), context.Canceled)
	}
	if err != nil {
		return nil, err
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		return nil, decodeError(resp)
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt != "text/event-stream" {
		resp.Body.Close()
		return nil, &parkd.Error{Code: parkd.CodeInternal,
			Message: "parkd at " + c.base + " answered /events with " + strconv.Quote(mt) + ", not an event stream"}
	}
	return resp, nil
}
