"""Campaign metrics and experiment statistics (reserved).

Empty on purpose: the context has its place in the import layers (pyproject.toml) before its code.
"""
