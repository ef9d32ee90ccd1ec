"""Tests of the health blueprint: /healthz."""
