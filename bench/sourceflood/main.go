// Command sourceflood measures what parkd keeps for each UDP source
// address it has heard from: it sends one datagram from each of N source
// addresses (127.S.x.y, each its own), waits for every transaction they
// started to end, and reads parkd's live heap before and after through
// the API (a forced collection first). A bounded daemon keeps about the
// same heap however many sources it heard from; the exit status is 1
// when the heap grew by more than -max-growth-mib.
//
// Run it through bench/sourceflood.sh, which starts parkd in a private
// network namespace: the sources are addresses of loopback, which only
// a namespace of its own makes safe to use.
//
//	sourceflood -target 127.0.0.1:5060 -api http://127.0.0.1:7080 -token DATA/token -n 100000
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	target := flag.String("target", "127.0.0.1:5060", "parkd's SIP UDP address")
	api := flag.String("api", "http://127.0.0.1:7080", "parkd's API")
	tokenFile := flag.String("token", "", "the file holding the API token (parkd's DATA/token)")
	n := flag.Int("n", 100000, "source addresses, one datagram each")
	kind := flag.String("kind", "response", "what each source sends: response (a stray 200) or request (an INVITE to an extension parkd does not have)")
	first := flag.String("first", "127.1.0.0", "the first source address; the others follow it")
	settle := flag.Duration("settle", 40*time.Second, "how long to wait after the last datagram before measuring: past Timer J and L of what the sources started")
	maxGrowth := flag.Float64("max-growth-mib", 16, "the most the live heap may grow, in MiB")
	flag.Parse()
	if err := run(*target, *api, *tokenFile, *n, *kind, *first, *settle, *maxGrowth); err != nil {
		fmt.Fprintln(os.Stderr, "sourceflood:", err)
		if errors.Is(err, errGrew) {
			os.Exit(1)
		}
		os.Exit(2)
	}
}

var errGrew = errors.New("the heap grew past the limit")

func run(target, api, tokenFile string, n int, kind, first string, settle time.Duration, maxGrowth float64) error {
	dst, err := netip.ParseAddrPort(target)
	if err != nil {
		return fmt.Errorf("-target: %w", err)
	}
	start, err := netip.ParseAddr(first)
	if err != nil || !start.Is4() || !start.IsLoopback() {
		return fmt.Errorf("-first must be an IPv4 loopback address, got %q", first)
	}
	tok, err := os.ReadFile(tokenFile)
	if err != nil {
		return fmt.Errorf("-token: %w", err)
	}
	h := heapReader{api: strings.TrimRight(api, "/"), token: strings.TrimSpace(string(tok))}
	before, err := h.live()
	if err != nil {
		return err
	}
	fmt.Printf("live heap before: %.1f MiB\n", mib(before))
	sent, err := flood(dst, start, n, kind)
	if err != nil {
		return err
	}
	fmt.Printf("sent %d %ss, each from its own source address\n", sent, kind)
	fmt.Printf("waiting %s for what they started to end\n", settle)
	time.Sleep(settle)
	after, err := h.live()
	if err != nil {
		return err
	}
	grew := int64(after) - int64(before)
	fmt.Printf("live heap after: %.1f MiB: %+.1f MiB, %d bytes per source\n", mib(after), float64(grew)/(1<<20), grew/int64(max(sent, 1)))
	if float64(grew)/(1<<20) > maxGrowth {
		return fmt.Errorf("%w: %+.1f MiB after %d sources, limit %.0f MiB", errGrew, float64(grew)/(1<<20), sent, maxGrowth)
	}
	return nil
}

// flood sends one datagram from each of n source addresses from start on.
func flood(dst netip.AddrPort, start netip.Addr, n int, kind string) (int, error) {
	to := net.UDPAddrFromAddrPort(dst)
	src := start
	sent := 0
	for i := range n {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: src.AsSlice(), Port: 0})
		if err != nil {
			return sent, fmt.Errorf("source %s: %w", src, err)
		}
		from := c.LocalAddr().String()
		var msg string
		switch kind {
		case "response":
			msg = "SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP " + from + ";branch=z9hG4bK-sf" + strconv.Itoa(i) +
				"\r\nFrom: <sip:flood@" + from + ">;tag=1\r\nTo: <sip:parkd@" + dst.String() + ">;tag=2\r\nCall-ID: sf" + strconv.Itoa(i) +
				"\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
		case "request":
			msg = "INVITE sip:00000000@" + dst.String() + " SIP/2.0\r\nVia: SIP/2.0/UDP " + from + ";branch=z9hG4bK-sf" + strconv.Itoa(i) +
				";rport\r\nMax-Forwards: 70\r\nFrom: <sip:flood@" + from + ">;tag=1\r\nTo: <sip:00000000@" + dst.String() + ">\r\nCall-ID: sf" + strconv.Itoa(i) +
				"\r\nCSeq: 1 INVITE\r\nContact: <sip:flood@" + from + ">\r\nContent-Length: 0\r\n\r\n"
		default:
			c.Close()
			return sent, fmt.Errorf("-kind %q: want response or request", kind)
		}
		_, err = c.WriteToUDP([]byte(msg), to)
		c.Close()
		if err != nil {
			return sent, err
		}
		sent++
		if src = src.Next(); !src.IsLoopback() {
			break
		}
		if i%5000 == 4999 {
			time.Sleep(50 * time.Millisecond) // let the daemon read: a dropped datagram proves nothing
		}
	}
	return sent, nil
}

// heapReader reads the daemon's live heap after a forced collection
// (/debug/pprof/heap?gc=1, its runtime.MemStats lines).
type heapReader struct{ api, token string }

func (h heapReader) live() (uint64, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, h.api+"/debug/pprof/heap?gc=1&debug=1", nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+h.token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("%s: %s", req.URL.Path, res.Status)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "# HeapAlloc = "); ok {
			return strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, errors.New("no HeapAlloc line in the heap profile")
}

func mib(b uint64) float64 { return float64(b) / (1 << 20) }
