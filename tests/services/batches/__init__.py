"""Tests of webapp/services/batches: eligibility, submission, the job, reading, the batch file."""
