"""SQL adapters of the campaigns context: the aggregate's table, rows, repository and listing."""
