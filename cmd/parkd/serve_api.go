package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"

	"github.com/parkd/parkd/parkd"
	"github.com/parkd/parkd/parkd/api"
)

// httpAPI is the API server running beside the daemon.
type httpAPI struct {
	done chan error
	url  string // where it listens, e.g. http://127.0.0.1:7080
}

// addr is where the API listens; "" when it is off.
func (a *httpAPI) addr() string {
	if a == nil {
		return ""
	}
	return a.url
}

// wait is Serve's result once ctx has ended; nil when the API is off.
func (a *httpAPI) wait() error {
	if a == nil {
		return nil
	}
	return <-a.done
}

// startAPI serves the HTTP API when api.listen is set. A token or address
// problem is a config error (exit 2) found before any call is parked; a
// later failure of the server (a TLS certificate that does not load)
// cancels ctx so the daemon stops rather than runs without its API.
func startAPI(ctx context.Context, cancel context.CancelFunc, srv *parkd.Server, cfg parkd.Config, f serveFlags, log *slog.Logger, stderr io.Writer) (*httpAPI, int) {
	if cfg.API.Listen == "" {
		return nil, exitOK
	}
	tok, err := api.LoadOrCreateToken(cfg.Data)
	if err != nil {
		fmt.Fprintf(stderr, "parkd: %v\n", err)
		return nil, exitUsage
	}
	ln, err := net.Listen("tcp", cfg.API.Listen)
	if err != nil {
		name := "api.listen"
		if f.api.set {
			name = "flag --api"
		}
		fmt.Fprintf(stderr, "parkd: %s: %v\n", name, err)
		return nil, exitUsage
	}
	// One registry for the handler's /metrics and the event counters.
	reg := api.NewRegistry()
	reg.MustRegister(api.NewStatsCollector(srv.Stats))
	h := api.NewHandler(srv, api.Options{Token: tok, Log: log, Registry: reg, Version: version(), RingGroups: cfg.RingGroups})
	go api.WatchEvents(ctx, srv, reg)
	a := &httpAPI{done: make(chan error, 1)}
	go func() {
		err := api.Serve(ctx, ln, h, cfg.API.TLS.Cert, cfg.API.TLS.Key)
		if err != nil && ctx.Err() == nil {
			log.Error("api stopped: stopping parkd", "error", err)
			cancel()
		}
		a.done <- err
	}()
	scheme := "http"
	if cfg.API.TLS.Cert != "" {
		scheme = "https"
	}
	a.url = scheme + "://" + ln.Addr().String()
	log.Info("api listening", "addr", ln.Addr().String(), "url", a.url)
	return a, exitOK
}
