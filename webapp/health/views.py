"""/healthz: is the database and the queue reachable (for the load balancer)."""
from flask import Blueprint
from flask import current_app
from flask import jsonify

from webapp import jobs
from webapp.models import db
from webapp.permissions import public

bp = Blueprint("health", __name__)


@bp.route("/healthz")
@public
def healthz():
    """200 with {"database": "ok", "queue": "ok"}, or 503 naming what is down.

    The answer names the kind of error only; the details go to the log.
    """
    result = {}
    try:
        db.execute_sql("SELECT 1").fetchone()  # connects here (see _open in create_app)
        result["database"] = "ok"
    except Exception as exc:  # any driver error means "down"
        current_app.logger.warning("healthz: database unreachable: %s", exc)
        result["database"] = f"error: {type(exc).__name__}"
    try:
        jobs.ping()
        result["queue"] = "ok"
    except Exception as exc:
        current_app.logger.warning("healthz: queue unreachable: %s", exc)
        result["queue"] = f"error: {type(exc).__name__}"
    ok = all(v == "ok" for v in result.values())
    result["status"] = "ok" if ok else "degraded"
    response = jsonify(result)
    response.status_code = 200 if ok else 503
    return response
