"""Inbound events (reserved): triggers, message feedback and user lifecycle arrive here.

Empty on purpose: the context has its place in the import layers (pyproject.toml) before its code.
"""
