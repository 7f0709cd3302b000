package apiclient

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"strconv"
	"strings"

	"github.com/parkd/parkd/parkd"
)

// maxEventSize bounds one event's line so a broken stream cannot grow
// memory without limit; parkd's events are a few hundred bytes.
const maxEventSize = 1 << 20

// readEvents parses text/event-stream (the WHATWG rules parkd needs: id,
// event, multi-line data, ':' comments as keepalives) and sends each
// event until the stream ends or ctx does.
func readEvents(ctx context.Context, r io.Reader, ch chan<- parkd.Event) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), maxEventSize)
	var (
		id, kind string
		data     bytes.Buffer
		hasData  bool
	)
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			if hasData {
				if ev, ok := decodeEvent(id, kind, data.Bytes()); ok {
					select {
					case ch <- ev:
					case <-ctx.Done():
						return
					}
				}
			}
			kind, hasData = "", false
			data.Reset()
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			id = value
		case "event":
			kind = value
		case "data":
			if hasData {
				data.WriteByte('\n')
			}
			data.WriteString(value)
			hasData = true
		}
	}
}

// decodeEvent fills Seq and Kind from the SSE fields when the JSON leaves
// them out. An event that does not parse is skipped rather than ending the
// stream: resubscribing would only fetch it again, and the Seq gap shows.
func decodeEvent(id, kind string, data []byte) (parkd.Event, bool) {
	var ev parkd.Event
	if err := json.Unmarshal(data, &ev); err != nil {
		return ev, false
	}
	if ev.Seq == 0 {
		ev.Seq, _ = strconv.ParseUint(id, 10, 64)
	}
	if ev.Kind == "" && kind != "" {
		ev.Kind = parkd.EventKind(kind)
	}
	return ev, true
}
