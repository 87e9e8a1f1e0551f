"""The metric ledger on SQL: counter rows per cell and shard (ledger.py)."""
