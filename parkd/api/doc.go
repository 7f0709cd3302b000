// Package api serves parkd.Client over HTTP: JSON resources and actions
// under /api/v1, Server-Sent Events, the OpenAPI document, /healthz and
// Prometheus /metrics. It only translates; every decision is the Client's,
// so the in-process daemon and a remote one behave the same.
package api
