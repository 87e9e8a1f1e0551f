"""The execution engine's machinery: how fast a fan-out runs, never what it writes.

The executor takes these as collaborators (domain.execution.executor.Executor); the server wires
them in, and without them the engine runs the plain rules at a lower speed."""
