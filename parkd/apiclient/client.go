// Package apiclient is parkd.Client over parkd's HTTP API, for `parkd ctl`
// and a console attached to a daemon that runs elsewhere.
package apiclient

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/parkd/parkd/parkd"
)

// DefaultTimeout bounds every call but Subscribe's stream: a console must
// not hang on a daemon that accepts connections and never answers.
const DefaultTimeout = 10 * time.Second

// Client talks to one parkd daemon. It is safe for concurrent use.
type Client struct {
	base    string // what people typed, normalised; named in errors
	api     string // base + "/api/v1"
	token   string
	hc      *http.Client
	timeout time.Duration
}

var _ parkd.Client = (*Client)(nil)

// Option changes how a Client connects.
type Option func(*Client)

// WithHTTPClient uses hc for every request, e.g. one whose transport trusts
// the daemon's TLS certificate. Its own Timeout would also cut the event
// stream, so leave it zero and use WithTimeout.
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithTimeout bounds each request but the event stream, whose response
// headers it still bounds; 0 means no limit.
func WithTimeout(d time.Duration) Option { return func(c *Client) { c.timeout = d } }

// New returns a Client for the daemon at baseURL ("http://127.0.0.1:7080",
// "https://parkd.example:7080", or a bare "host:port", taken as http).
func New(baseURL, token string, opts ...Option) (*Client, error) {
	base, err := normaliseBase(baseURL)
	if err != nil {
		return nil, err
	}
	c := &Client{base: base, api: base + "/api/v1", token: token, hc: http.DefaultClient, timeout: DefaultTimeout}
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// BaseURL is the daemon's address as the Client uses it.
func (c *Client) BaseURL() string { return c.base }

func normaliseBase(raw string) (string, error) {
	s := strings.TrimSpace(raw)
	if s == "" {
		return "", errors.New("no parkd API address")
	}
	if !strings.Contains(s, "://") {
		s = "http://" + s
	}
	u, err := url.Parse(s)
	if err != nil {
		return "", fmt.Errorf("parkd API address %q: %v", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", fmt.Errorf("parkd API address %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return "", fmt.Errorf("parkd API address %q has no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return "", fmt.Errorf("parkd API address %q: no query or fragment, please", raw)
	}
	// A path is kept for a daemon behind a reverse proxy; /api/v1 itself
	// is forgiven because people copy it from curl examples.
	path := strings.TrimRight(u.Path, "/")
	path = strings.TrimSuffix(path, "/api/v1")
	return u.Scheme + "://" + u.Host + path, nil
}

// call sends one JSON request under /api/v1 and decodes the answer into
// out (nil: discard it).
func (c *Client) call(ctx context.Context, method, path string, query url.Values, in, out any) error {
	if c.timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeoutCause(ctx, c.timeout, errTimedOut)
		defer cancel()
	}
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return &parkd.Error{Code: parkd.CodeInvalidField, Message: err.Error()}
		}
		body = bytes.NewReader(b)
	}
	u := c.api + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, method, u, body)
	if err != nil {
		return &parkd.Error{Code: parkd.CodeInvalidField, Message: err.Error()}
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return decodeError(resp)
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		if cerr := c.transportError(ctx, err); cerr != nil {
			return cerr
		}
		return &parkd.Error{Code: parkd.CodeInternal, Message: fmt.Sprintf("unreadable answer from parkd at %s: %v", c.base, err)}
	}
	return nil
}

// do sends req with the token and turns a failure to get an answer into
// an unavailable error (or the caller's own context error).
func (c *Client) do(req *http.Request) (*http.Response, error) {
	req.Header.Set("Authorization", "Bearer "+c.token)
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json")
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		if cerr := c.transportError(req.Context(), err); cerr != nil {
			return nil, cerr
		}
		return nil, unreachable(c.base, err)
	}
	return resp, nil
}

// seg escapes one path segment: call ids and slot names come from people.
func seg(s string) string { return url.PathEscape(s) }
