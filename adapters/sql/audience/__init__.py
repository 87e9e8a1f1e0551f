"""SQL adapters of the audience context: the built-in contact directory, segments, suppressions
and the audience resolved in SQL."""
