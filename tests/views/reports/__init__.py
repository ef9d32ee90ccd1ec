"""Tests of the reports blueprint: Reports > Factoring and the report uploads."""
