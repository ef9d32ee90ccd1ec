"""View tests through the test client: one folder per blueprint of webapp."""
