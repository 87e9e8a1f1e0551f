"""Benchmark child servers: ready once they print `listening on HOST:PORT`; stopped by SIGTERM."""

from __future__ import annotations

import re
import signal
import subprocess
import threading
from dataclasses import dataclass, field
from pathlib import Path

from bench import ROOT

ADDRESS_LINE = re.compile(r"listening on (\S+)")
STARTUP_TIMEOUT_S = 60.0


@dataclass
class ChildServer:
    process: subprocess.Popen[str]
    address: str
    output: list[str] = field(default_factory=list)

    def stop(self, timeout: float = 20.0) -> int:
        return stop_process(self.process, timeout)


def start_child_server(command: list[str], env: dict[str, str] | None = None) -> ChildServer:
    """Start `command` in the repository root and wait for its `listening on` line."""
    process = subprocess.Popen(
        command,
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )
    output: list[str] = []
    found: list[str] = []
    ready = threading.Event()

    def pump() -> None:  # keeps draining, so a chatty child never blocks on a full pipe
        assert process.stdout is not None
        for line in process.stdout:
            output.append(line)
            match = ADDRESS_LINE.search(line)
            if match and not found:
                found.append(match.group(1))
                ready.set()
        ready.set()

    threading.Thread(target=pump, daemon=True).start()
    if not ready.wait(STARTUP_TIMEOUT_S) or not found:
        stop_process(process, 5)
        raise RuntimeError(f"{command} did not start:\n" + "".join(output))
    return ChildServer(process, found[0], output)


def stop_process(process: subprocess.Popen[str], timeout: float = 20.0) -> int:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            return process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait(timeout)
    return process.returncode


def peak_rss_mb(pid: int) -> float | None:
    """The process's peak resident set size (VmHWM) so far, or None when it is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None
