"""WSGI entry for the throughput figure: gunicorn bench.serve:app.

The product's app (from the environment, exactly as wsgi.py builds it) plus
the benchmark's fixed-string floor route.
"""
from bench.app import register_floor
from webapp import create_app

app = register_floor(create_app())
