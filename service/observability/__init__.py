"""Cross-cutting observability: the request id (`correlation`), Prometheus metrics (`metrics`) and
the log format (`logs`). A leaf package: it imports nothing from the rest of the service, so every
layer (http, operations, engine, workers) may record into it. See docs/operations.md."""
