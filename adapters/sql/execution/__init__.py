"""SQL adapters of the execution context: executions, messages (the delivery outbox) and
hand-overs."""
