"""Tests of the factors blueprint: Management > Factors."""
