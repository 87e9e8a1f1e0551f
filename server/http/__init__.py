"""The HTTP server beside the gRPC one (same process, same event loop): tracking links,
`/healthz` and `/metrics` (docs/tracking.md)."""
