"""StartupError: why `serve`, `migrate` or `token` cannot run, said in one line.

The CLI prints it as `error: <message>` and exits with code 2; a traceback is for bugs, not for
a mistyped URL or a missing secret. Messages name what to fix and never carry a password."""

from __future__ import annotations


class StartupError(RuntimeError):
    """A configuration or dependency problem found before the service could start."""
