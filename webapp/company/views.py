"""Management > Company Profile: subsidiaries, their factor and their Document Configuration."""
from flask import Blueprint
from flask import abort
from flask import flash
from flask import make_response
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_login import current_user

from webapp.extensions import htmx
from webapp.models import INFO_KINDS
from webapp.models import Subsidiary
from webapp.permissions import actor
from webapp.permissions import current_company
from webapp.permissions import get_scoped_or_404
from webapp.permissions import login_required
from webapp.permissions import manager_required
from webapp.services import factors
from webapp.services import local_time
from webapp.services import subsidiaries
from webapp.services.validation import Invalid
from webapp.services.validation import db_id
from webapp.web import found_or_404
from webapp.web import record_form
from webapp.web import submit_form

bp = Blueprint("company", __name__, url_prefix="/management/company-profile")


def _doc_config(subsidiary, notice=None):
    """What the Document Configuration section (and its History) needs."""
    return dict(subsidiaries.document_configuration(subsidiary), can_manage=current_user.is_manager, notice=notice)


def _profile(subsidiary, factor_values=None, factor_errors=None, status=200):
    context = factors.company_profile(current_company(), subsidiary)
    context.update(can_manage=current_user.is_manager, factor_values=factor_values or {}, zones=local_time.ZONES,
                   factor_errors=factor_errors or {})
    return render_template("company/index.html", **context), status


@bp.route("/")
@login_required
def index():
    """Choose a subsidiary; see its details, its factor and Document Configuration."""
    wanted = request.args.get("subsidiary_id")
    return _profile(get_scoped_or_404(Subsidiary, wanted) if wanted else None)


@bp.route("/<int:subsidiary_id>/factor", methods=["POST"])
@manager_required
def assign_factor(subsidiary_id):
    """Assign the subsidiary to a factor from a date (batches already sent keep theirs)."""
    sub = get_scoped_or_404(Subsidiary, subsidiary_id)
    return submit_form(lambda: factors.assign(sub, request.form, actor=actor()),
                       lambda values, errors, status: _profile(sub, values, errors, status),
                       lambda row: (f"{sub.name} sells to {row.factor.name} from {row.from_date:%m/%d/%Y}.",
                                    url_for("company.index", subsidiary_id=sub.id)))


@bp.route("/time-zone", methods=["POST"])
@manager_required
def set_time_zone():
    """The company's time zone: every time in Factor Desk is shown in it."""
    company = current_company()
    if company is None:
        abort(404)
    back = url_for("company.index", subsidiary_id=db_id(request.form.get("subsidiary_id")))
    try:
        local_time.set_company_zone(company, request.form.get("time_zone"), actor=actor())
    except Invalid as exc:
        flash(exc.message, "error")
        return redirect(back, 303)
    flash(f"Times are shown in {local_time.ZONES[company.time_zone]} time.", "success")
    return redirect(back, 303)


def _subsidiary_form(subsidiary, values, errors, status=200):
    return render_template("company/subsidiary_form.html", subsidiary=subsidiary,
                           values=values, errors=errors, zones=local_time.ZONES,
                           fields=subsidiaries.SUBSIDIARY_FIELDS), status


@bp.route("/subsidiaries/new", methods=["GET", "POST"])
@manager_required
def create():
    """Add a subsidiary to the company in view."""
    if request.method == "GET":
        return _subsidiary_form(None, {}, {})
    company = current_company()
    if company is None:
        abort(404)
    return submit_form(lambda: subsidiaries.create_subsidiary(company, request.form, actor=actor()),
                       lambda values, errors, status: _subsidiary_form(None, values, errors, status),
                       lambda sub: (f"Subsidiary {sub.name} added.", url_for("company.index", subsidiary_id=sub.id)))


@bp.route("/<int:subsidiary_id>/edit", methods=["GET", "POST"])
@manager_required
def update(subsidiary_id):
    """Edit a subsidiary's names, MC/USDOT numbers, address, phone and email."""
    sub = get_scoped_or_404(Subsidiary, subsidiary_id)
    return record_form(sub, subsidiaries.SUBSIDIARY_FIELDS,
                       lambda values, errors, status: _subsidiary_form(sub, values, errors, status),
                       lambda: subsidiaries.update_subsidiary(sub, request.form, actor=actor()),
                       lambda saved: (f"Subsidiary {saved.name} saved.",
                                      url_for("company.index", subsidiary_id=saved.id)))


def _info_form(sub, kind, text, errors, *, entry=None, status=200):
    """The Manage Important Info form: a dialog for htmx, else a whole page."""
    context = {
        "subsidiary": sub, "kind": kind, "text": text, "errors": errors, "entry": entry,
        "kinds": INFO_KINDS, "in_dialog": bool(htmx), "limits": subsidiaries.limits_text(),
        "configured": [e.kind_label for e in subsidiaries.entries(sub)],
    }
    if not htmx:
        return render_template("company/info_form.html", **context), status
    template = "company/_partials/info_form.html" if request.method == "POST" \
        else "company/_partials/info_dialog.html"
    response = make_response(render_template(template, **context))
    if request.method == "POST":
        # Errors go back into the dialog, not into the section behind it.
        response.headers["HX-Retarget"] = "#info-form"
        response.headers["HX-Reswap"] = "outerHTML"
    return response


@bp.route("/<int:subsidiary_id>/info/new")
@manager_required
def new_info(subsidiary_id):
    """Manage Important Info: add an entry (or replace the one of the chosen type)."""
    sub = get_scoped_or_404(Subsidiary, subsidiary_id)
    kind = request.args.get("kind", "")
    return _info_form(sub, kind if kind in INFO_KINDS else "", "", {})


@bp.route("/<int:subsidiary_id>/info/<int:info_id>/edit")
@manager_required
def edit_info(subsidiary_id, info_id):
    """Manage Important Info for an existing entry: its type is fixed, its text editable."""
    sub = get_scoped_or_404(Subsidiary, subsidiary_id)
    entry = found_or_404(subsidiaries.get_entry(sub, info_id))
    return _info_form(sub, entry.kind, entry.text, {}, entry=entry)


def _section_response(sub, message):
    """After a change: the section re-rendered in place (htmx), else back to the page."""
    if htmx:
        response = make_response(render_template(
            "company/_partials/doc_config_saved.html", **_doc_config(sub, notice=message)))
        response.headers["HX-Retarget"] = "#doc-config"
        response.headers["HX-Reswap"] = "outerHTML"
        return response
    flash(message, "success")
    return redirect(url_for("company.index", subsidiary_id=sub.id), 303)


@bp.route("/<int:subsidiary_id>/info", methods=["POST"])
@manager_required
def save_info(subsidiary_id):
    """Save an entry; an entry of the same type is replaced (its old text stays in History)."""
    sub = get_scoped_or_404(Subsidiary, subsidiary_id)
    kind, text = request.form.get("kind", ""), request.form.get("text", "")
    try:
        entry, outcome = subsidiaries.save_info(sub, kind, text, actor=actor())
    except Invalid as exc:
        existing = subsidiaries.get_entry(sub, db_id(request.form.get("info_id")) or 0)
        return _info_form(sub, kind, text, exc.errors, entry=existing, status=400)
    message = {
        "added": f"{entry.kind_label} saved for {sub.name}.",
        "replaced": f"{entry.kind_label} replaced for {sub.name}; the previous text is in the History.",
        "unchanged": f"{entry.kind_label} of {sub.name} already had this text; nothing changed.",
    }[outcome]
    return _section_response(sub, message)


@bp.route("/<int:subsidiary_id>/info/<int:info_id>/remove", methods=["POST"])
@manager_required
def remove_info(subsidiary_id, info_id):
    """Remove an entry; its text stays in History."""
    sub = get_scoped_or_404(Subsidiary, subsidiary_id)
    try:
        label = subsidiaries.remove_info(sub, info_id, actor=actor())
    except subsidiaries.EntryNotFound:
        abort(404)
    return _section_response(sub, f"{label} removed from {sub.name}.")
