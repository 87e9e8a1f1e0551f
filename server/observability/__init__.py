"""What the service tells operators about itself: log processors, run logs (and metrics)."""
