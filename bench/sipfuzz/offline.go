package main

import (
	"bytes"
	"fmt"
	"io"
	"strings"
)

// printMessage writes message -print of -seed: a description to stderr,
// its bytes to stdout (pipe them to nc to send it by hand).
func printMessage(o options, stdout, stderr io.Writer) {
	t := o.target()
	m := Generate(o.seed, o.print, t)
	fmt.Fprintf(stderr, "message %d of seed %d: %s, mutations %v, %s from %s, %d bytes\n",
		m.Index, o.seed, m.Kind, m.Mutations, m.Transport, t.SourceIPs[m.Source], len(m.Bytes))
	_, _ = stdout.Write(m.Bytes)
}

// listMessages writes one tab-separated line per message of -from..-from+n:
// index, seed kind, mutations, transport, source, whether it names a
// .invalid host, size. grep it to find the messages of a kind to replay.
func listMessages(o options, stdout io.Writer) {
	t := o.target()
	for i := o.from; i < o.from+o.n; i++ {
		m := Generate(o.seed, i, t)
		muts := strings.Join(m.Mutations, "+")
		if muts == "" {
			muts = "-"
		}
		host := "ip"
		if bytes.Contains(m.Bytes, []byte(".invalid")) {
			host = ".invalid"
		}
		fmt.Fprintf(stdout, "%d\t%s\t%s\t%s\t%s\t%s\t%d\n", m.Index, m.Kind, muts, m.Transport, t.SourceIPs[m.Source], host, len(m.Bytes))
	}
}
