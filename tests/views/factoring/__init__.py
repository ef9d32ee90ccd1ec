"""Tests of the factoring blueprint: Accounting > Factoring Upload."""
