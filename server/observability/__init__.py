"""What the service tells those who run it: log processors and run logs, Prometheus metrics
(prometheus.py and its feeders)."""
