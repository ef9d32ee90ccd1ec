"""My account: your recent sign-ins and Sign out other sessions, your password, two-factor
sign-in. Every signed-in person has one; each section is one partial of templates/account/."""
from flask import Blueprint
from flask import current_app
from flask import flash
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from webapp.permissions import actor
from webapp.permissions import login_required
from webapp.services import account
from webapp.services import local_time
from webapp.services import passwords
from webapp.services import two_factor
from webapp.services.mail import notices
from webapp.services.validation import Invalid
from webapp.web import safe_next

bp = Blueprint("account", __name__, url_prefix="/account")


def _token():
    return getattr(actor(), "session_token", None)


def _page(errors=None, status=200, section=None):
    config = current_app.config
    data = account.page(actor(), token=_token(), lifetime_hours=config["SESSION_LIFETIME_HOURS"],
                        idle_minutes=config["SESSION_IDLE_MINUTES"])
    return render_template("account/index.html", errors=errors or {}, section=section, zones=local_time.ZONES,
                           **data), status


@bp.route("/")
@login_required
def index():
    """My account."""
    return _page()


@bp.route("/password", methods=["POST"])
@login_required
def change_password():
    """Change your password (the current one, the new one twice); your other sessions end."""
    form = request.form
    try:
        ended = passwords.change_own(actor(), current=form.get("current"), new=form.get("new"),
                                     confirm=form.get("confirm"), keep_token=_token())
    except Invalid as exc:
        return _page(exc.errors, 400, section="password")
    others = f" {ended} other session{'s' if ended != 1 else ''} signed out." if ended else ""
    flash(f"Your password is changed.{others}", "success")
    return redirect(url_for("account.index"), 303)


@bp.route("/notices", methods=["POST"])
@login_required
def save_notices():
    """Turn each kind of email notice on or off (the ticked boxes are on)."""
    notices.save_settings(actor(), request.form.getlist("on"))
    flash("Your email notices are saved.", "success")
    return redirect(url_for("account.index") + "#notices", 303)


@bp.route("/time-zone", methods=["POST"])
@login_required
def save_time_zone():
    """Your own time zone; blank follows the company's."""
    try:
        user = local_time.set_user_zone(actor(), request.form.get("time_zone"), actor=actor())
    except Invalid as exc:
        return _page(exc.errors, 400, section="time-zone")
    zone = local_time.ZONES.get(user.time_zone)
    flash(f"Times are shown in {zone} time." if zone else "Times are shown in your company's time zone.",
          "success")
    return redirect(url_for("account.index") + "#time-zone", 303)


@bp.route("/sessions/end-others", methods=["POST"])
@login_required
def end_other_sessions():
    """Sign out everywhere but here."""
    ended = account.end_other_sessions(actor(), _token())
    flash(f"Signed out {ended} other session{'s' if ended != 1 else ''}." if ended
          else "You had no other session open.", "success")
    return redirect(url_for("account.index"), 303)


@bp.route("/two-factor", methods=["GET", "POST"])
@login_required
def two_factor_enrol():
    """Turn on two-factor sign-in: scan the QR code (or type the secret), confirm with a code;
    the recovery codes are shown once, on the answer to that POST."""
    user = actor()
    if two_factor.is_enrolled(user):
        return redirect(url_for("account.index"))
    next_page = safe_next(request.values.get("next"))
    errors, status = {}, 200
    if request.method == "POST":
        try:
            codes = two_factor.confirm(user, request.form.get("code"))
        except Invalid as exc:
            errors, status = exc.errors, 400
        else:
            return render_template("account/recovery_codes.html", codes=codes, next_page=next_page,
                                   first=True)
    secret = two_factor.begin(user)
    qr = two_factor.qr_svg(two_factor.provisioning_uri(user, secret), "QR code for your authenticator app")
    return render_template("account/two_factor.html", secret=secret, qr=qr, errors=errors, next_page=next_page,
                           required=two_factor.is_required(user)), status


@bp.route("/two-factor/recovery-codes", methods=["POST"])
@login_required
def new_recovery_codes():
    """Ten new recovery codes (after your password); the old ones stop working."""
    try:
        codes = two_factor.new_recovery_codes(actor(), request.form.get("password"))
    except Invalid as exc:
        return _page(exc.errors, 400, section="two-factor")
    return render_template("account/recovery_codes.html", codes=codes, next_page=None, first=False)


@bp.route("/two-factor/off", methods=["POST"])
@login_required
def two_factor_off():
    """Turn two-factor sign-in off (after your password), where it is optional."""
    try:
        two_factor.turn_off(actor(), request.form.get("password"))
    except Invalid as exc:
        return _page(exc.errors, 400, section="two-factor")
    flash("Two-factor sign-in is off.", "success")
    return redirect(url_for("account.index"), 303)
