"""Tests of the loads blueprint: the list, a load's page, the forms, documents, the import."""
