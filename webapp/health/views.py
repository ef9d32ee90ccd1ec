"""/healthz: is the database and the queue reachable."""
from flask import Blueprint
from flask import jsonify

from webapp import queue
from webapp.models import db
from webapp.permissions import public

bp = Blueprint("health", __name__)


@bp.route("/healthz")
@public
def healthz():
    """200 with {"database": "ok", "queue": "ok"}, or 503 naming what is down."""
    result = {}
    try:
        db.execute_sql("SELECT 1").fetchone()
        result["database"] = "ok"
    except Exception as exc:  # any driver error means "down"
        result["database"] = f"error: {type(exc).__name__}"
    try:
        queue.ping()
        result["queue"] = "ok"
    except Exception as exc:
        result["queue"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in result.values())
    result["status"] = "ok" if ok else "degraded"
    return jsonify(result), 200 if ok else 503
