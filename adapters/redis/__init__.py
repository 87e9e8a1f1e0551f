"""Redis adapters: state that every replica must share, kept in one place (the rate limiter)."""
