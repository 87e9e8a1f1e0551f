"""SQL adapters of the inbound events context."""
