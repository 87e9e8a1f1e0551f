"""What the service tells those who run it: Prometheus metrics (prometheus.py and its feeders)."""
