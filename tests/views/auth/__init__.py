"""Tests of the auth blueprint: sign-in and the company switcher."""
