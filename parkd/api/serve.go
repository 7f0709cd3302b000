package api

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// shutdownGrace bounds how long Serve waits for requests in flight once
// ctx ends; streams end at once.
const shutdownGrace = 5 * time.Second

// newHTTPServer has the timeouts that keep a slow or stalled client from
// holding a connection. There is no WriteTimeout: it would cut event
// streams, so every handler sets its own write deadline instead.
func newHTTPServer(h http.Handler, stopping context.Context) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		BaseContext: func(net.Listener) context.Context {
			return context.WithValue(context.Background(), stoppingKey{}, stopping)
		},
	}
}

// Serve serves h on ln until ctx ends, then shuts down gracefully (SSE
// streams end). With certFile/keyFile non-empty it serves HTTPS.
func Serve(ctx context.Context, ln net.Listener, h http.Handler, certFile, keyFile string) error {
	stopping, stop := context.WithCancel(context.Background())
	defer stop()
	return serve(ctx, ln, newHTTPServer(h, stopping), stop, certFile, keyFile)
}

func serve(ctx context.Context, ln net.Listener, srv *http.Server, stop context.CancelFunc, certFile, keyFile string) error {
	errc := make(chan error, 1)
	go func() {
		if certFile != "" || keyFile != "" {
			errc <- srv.ServeTLS(ln, certFile, keyFile)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	select {
	case err := <-errc:
		return err // the listener failed or the certificate did not load
	case <-ctx.Done():
	}
	// Streams never go idle by themselves; end them so Shutdown can finish.
	stop()
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	err := srv.Shutdown(sctx)
	if err != nil {
		_ = srv.Close()
	}
	if serr := <-errc; serr != nil && !errors.Is(serr, http.ErrServerClosed) {
		return serr
	}
	return err
}
