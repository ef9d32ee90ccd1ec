"""Reports > Factoring: Purchase and Payment Report templates, uploads, preview, confirm. (Stub: to be built.)"""
from flask import Blueprint

bp = Blueprint("report_uploads", __name__, url_prefix="/reports/factoring")
