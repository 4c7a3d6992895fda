"""One module per CLI command; see analyzer/cli.py."""
