"""Adapters of the embedded default: the in-process event bus, rate limiter and sandbox delivery.

Real implementations for a single process, run by `make run` with no configuration; the in-memory
stores used as test fakes live in adapters.memory."""
