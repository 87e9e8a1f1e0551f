"""The shared kernel: what every context speaks and none owns.

Errors by category, the caller's principal, channels, time zones, domain events and the outbox
relay, and the ports for time, ids, events and health. It imports no context.
"""
