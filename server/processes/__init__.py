"""Worker-process mode (docs/worker-processes.md): one supervisor, N `serve` worker processes
sharing the gRPC and HTTP ports on purpose, the background workers in exactly one of them.

count.py        how many workers, and why N > 1 needs NATS and Redis
reservation.py  the supervisor's hold on the ports, after refusing a port a stranger holds
supervisor.py   starts, watches (restarts with backoff) and drains the workers
worker.py       the worker side: its role, its ready signal, its end with the supervisor
"""
