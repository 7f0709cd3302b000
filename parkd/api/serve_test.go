package api

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/parkd/parkd/parkd"
)

// selfSigned writes a certificate for 127.0.0.1 and its key into dir.
func selfSigned(t *testing.T, dir string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "parkd test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// TestServeHTTPS serves over TLS with HTTP/2, and a stream there outlives
// the server's ReadTimeout as it does over HTTP/1.
func TestServeHTTPS(t *testing.T) {
	certFile, keyFile, pool := selfSigned(t, t.TempDir())
	s, f, _ := newTestServer(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	stopping, stopStreams := context.WithCancel(context.Background())
	srv := newHTTPServer(s, stopping)
	srv.ReadTimeout = 100 * time.Millisecond
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, srv, stopStreams, certFile, keyFile) }()

	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}}
	base := "https://" + ln.Addr().String()
	resp, err := client.Get(base + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ProtoMajor != 2 {
		t.Fatalf("healthz: %d over %s", resp.StatusCode, resp.Proto)
	}

	req, _ := http.NewRequest("GET", base+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	st := &sseStream{resp: resp, rd: bufio.NewReader(resp.Body)}
	time.Sleep(400 * time.Millisecond)
	f.publish(parkd.Event{Kind: parkd.EventParked, Lot: "main", Slot: "701"})
	if id, _, _ := st.nextEvent(t); id != "1" {
		t.Errorf("id %s", id)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("serve: %v", err)
		}
	case <-time.After(shutdownGrace + time.Second):
		t.Fatal("Serve did not return")
	}
}

func TestServeErrors(t *testing.T) {
	s, _, _ := newTestServer(t)
	t.Run("bad certificate", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		defer ln.Close()
		dir := t.TempDir()
		err := Serve(context.Background(), ln, s, filepath.Join(dir, "no.pem"), filepath.Join(dir, "no.key"))
		if err == nil || !strings.Contains(err.Error(), "no.pem") {
			t.Errorf("err %v", err)
		}
	})
	t.Run("closed listener", func(t *testing.T) {
		ln, _ := net.Listen("tcp", "127.0.0.1:0")
		ln.Close()
		if err := Serve(context.Background(), ln, s, "", ""); err == nil {
			t.Error("no error")
		}
	})
	t.Run("timeouts", func(t *testing.T) {
		srv := newHTTPServer(s, context.Background())
		if srv.ReadHeaderTimeout != 5*time.Second || srv.ReadTimeout != 30*time.Second || srv.IdleTimeout != 120*time.Second ||
			srv.MaxHeaderBytes != 64<<10 || srv.WriteTimeout != 0 {
			t.Errorf("%+v", srv)
		}
	})
}

// A plain request still in flight when Serve stops is answered.
func TestShutdownFinishesRequests(t *testing.T) {
	s, f, _ := newTestServer(t)
	block := make(chan struct{})
	slow := &slowClient{fakeClient: f, block: block, entered: make(chan struct{})}
	s.c = slow
	base, stop := startServer(t, s, nil)
	res := make(chan int, 1)
	go func() {
		req, _ := http.NewRequest("GET", base+"/api/v1/lots", nil)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			res <- 0
			return
		}
		resp.Body.Close()
		res <- resp.StatusCode
	}()
	select {
	case <-slow.entered:
	case code := <-res:
		t.Fatalf("the request ended (%d) before reaching the client", code)
	case <-time.After(5 * time.Second):
		t.Fatal("the request never reached the client")
	}
	stopped := make(chan error, 1)
	go func() { stopped <- stop() }()
	time.Sleep(50 * time.Millisecond)
	close(block)
	if code := within(t, res, "the in-flight request's answer"); code != 200 {
		t.Errorf("in-flight request: %d", code)
	}
	if err := within(t, stopped, "Serve to return"); err != nil {
		t.Errorf("serve: %v", err)
	}
}

// within receives from ch, or fails the test after 5 s.
func within[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(5 * time.Second):
		t.Fatalf("timed out waiting for %s", what)
		panic("unreachable")
	}
}

type slowClient struct {
	*fakeClient
	block   chan struct{}
	entered chan struct{}
}

func (c *slowClient) Lots(ctx context.Context) ([]parkd.LotView, error) {
	close(c.entered)
	<-c.block
	return c.fakeClient.Lots(ctx)
}
