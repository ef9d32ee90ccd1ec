"""The production path: configuration, gunicorn, the queue, logs, backups, the crash test."""
