"""The campaign domain: pure Python rules, state machine, use cases and the ports they need."""
