"""Tests of the command line (webapp/cli.py)."""
