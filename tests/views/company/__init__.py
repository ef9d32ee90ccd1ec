"""Tests of the company blueprint: Company Profile."""
