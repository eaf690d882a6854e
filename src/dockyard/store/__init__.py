"""The only place that knows the workspace's SQL schema and file paths."""
