"""Tests of the users blueprint: the Users pages."""
