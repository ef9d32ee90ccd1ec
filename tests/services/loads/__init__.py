"""Tests of webapp/services/loads: editing, documents, the CSV import."""
