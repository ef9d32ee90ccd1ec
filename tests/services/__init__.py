"""Service tests, without a request: one file or folder per module or package of webapp/services."""
