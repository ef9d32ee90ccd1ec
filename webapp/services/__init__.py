"""Business rules as plain functions: no request, no template."""
