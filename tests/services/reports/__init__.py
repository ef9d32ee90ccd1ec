"""Tests of webapp/services/reports: the report rules, messy files, races, templates."""
