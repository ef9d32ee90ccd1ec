"""Tests of the customers blueprint: the Customers pages."""
