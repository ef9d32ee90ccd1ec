"""The crash test: the whole production stack with its worker killed mid-batch (PostgreSQL only)."""
