"""Reports > Reserve, > Aging and > Cost and speed: the money the factor holds, from the ledger
(services/ledger). Each view parses the query string, calls one service, renders."""
from flask import Blueprint
from flask import render_template
from flask import request

from webapp.permissions import current_company
from webapp.permissions import login_required
from webapp.services.ledger import aging as aging_service
from webapp.services.ledger import cost as cost_service
from webapp.services.ledger import reserve as reserve_service

bp = Blueprint("money_reports", __name__, url_prefix="/reports")


@bp.route("/reserve")
@login_required
def reserve():
    """The reserve account: balances per factor and subsidiary, and the filtered statement."""
    return render_template("reports/money/reserve.html",
                           view=reserve_service.reserve_account(current_company(), request.args))


@bp.route("/aging")
@login_required
def aging():
    """Financed invoices not yet paid, by days outstanding, with their recourse deadlines."""
    return render_template("reports/money/aging.html", view=aging_service.aging(current_company(), request.args))


@bp.route("/cost")
@login_required
def cost():
    """What factoring cost per month, and how fast the factor funds and debtors pay."""
    return render_template("reports/money/cost.html", view=cost_service.cost_and_speed(current_company(), request.args))
