package apiclient

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"syscall"

	"github.com/parkd/parkd/parkd"
)

// errTimedOut is the cause of a context that our own per-request timeout
// ended, to tell it from the caller giving up.
var errTimedOut = errors.New("parkd did not answer in time")

// decodeError reads the API's {"error": {…}} body; an answer without one
// (a proxy's page, an old daemon, a bare 401) gets a code from the status.
func decodeError(resp *http.Response) error {
	var body struct {
		Error *parkd.Error `json:"error"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if json.Unmarshal(raw, &body) == nil && body.Error != nil && (body.Error.Code != "" || body.Error.Message != "") {
		e := body.Error
		if e.Code == "" {
			e.Code = codeForStatus(resp.StatusCode)
		}
		if e.Message == "" {
			e.Message = e.Code
		}
		return e
	}
	code := codeForStatus(resp.StatusCode)
	msg := fmt.Sprintf("parkd answered %s", resp.Status)
	if code == parkd.CodeUnauthorized {
		msg = "unauthorized: the API token is missing or wrong"
	}
	return &parkd.Error{Code: code, Message: msg}
}

func codeForStatus(status int) string {
	switch {
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		return parkd.CodeUnauthorized
	case status == http.StatusServiceUnavailable || status == http.StatusBadGateway || status == http.StatusGatewayTimeout:
		return parkd.CodeUnavailable
	case status == http.StatusConflict:
		return parkd.CodeInvalidState
	case status >= 500 || status == http.StatusNotFound:
		// A bare 404 is a route the daemon lacks, not a missing call or
		// slot (those come with a JSON body): something is wrong on its side.
		return parkd.CodeInternal
	}
	return parkd.CodeInvalidField
}

// transportError is non-nil when ctx ended: the caller's own cancellation
// comes back as is, our timeout as unavailable.
func (c *Client) transportError(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return nil
	}
	if errors.Is(context.Cause(ctx), errTimedOut) {
		return &parkd.Error{Code: parkd.CodeUnavailable, Message: fmt.Sprintf("parkd at %s did not answer within %s", c.base, c.timeout)}
	}
	return ctx.Err()
}

// unreachable says which daemon could not be reached and why, in the
// fewest words: "connection refused", not the whole dial chain.
func unreachable(base string, err error) error {
	reason := err.Error()
	var errno syscall.Errno
	var dnsErr *net.DNSError
	var opErr *net.OpError
	var uerr *url.Error
	switch {
	case errors.As(err, &errno):
		reason = errno.Error()
	case errors.As(err, &dnsErr):
		reason = dnsErr.Error()
	case errors.As(err, &opErr) && opErr.Err != nil:
		reason = opErr.Err.Error()
	case errors.As(err, &uerr):
		reason = uerr.Err.Error()
	}
	return &parkd.Error{Code: parkd.CodeUnavailable, Message: fmt.Sprintf("cannot reach parkd at %s: %s", base, reason)}
}
