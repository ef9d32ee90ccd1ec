"""Factors: the factoring companies a carrier sells its invoices to, as records.

A factor belongs to a company (each carrier negotiates its own terms): its name, remit-to
address, the address batches are sent to, the terms (advance, fee flat or by days outstanding
in tiers, reserve, recourse days; percentages in basis points, 9750 = 97.50 %), the documents
it wants behind each invoice and its batch file format (services/batches/formats.py).

A subsidiary is assigned to a factor from a date (SubsidiaryFactor); its current factor is the
latest assignment whose from-date is not after the day asked about. A batch keeps the factor it
was sent to (Batch.factor), so switching leaves the old factor's invoices with it.
"""
import datetime
import json
import re

from peewee import JOIN
from peewee import IntegrityError
from peewee import fn

from webapp.models import FEE_FLAT
from webapp.models import FEE_KINDS
from webapp.models import FEE_TIERED
from webapp.models import AuditLog
from webapp.models import Batch
from webapp.models import Factor
from webapp.models import FactorFeeTier
from webapp.models import Subsidiary
from webapp.models import SubsidiaryFactor
from webapp.models import User
from webapp.models import db
from webapp.services import audit
from webapp.services.batches.formats import assignment_on
from webapp.services.batches.formats import labels as format_labels
from webapp.services.local_time import parse_date_input
from webapp.services.subsidiaries import profile
from webapp.services.terms import FULL_BP
from webapp.services.terms import expected_amounts  # noqa: F401 (factors.expected_amounts)
from webapp.services.terms import fee_bp_for  # noqa: F401 (factors.fee_bp_for)
from webapp.services.terms import percent
from webapp.services.terms import tiers
from webapp.services.validation import Checker
from webapp.services.validation import Invalid

# How many fee tiers the form offers.
MAX_TIERS = 6
# The terms as money (percent, tiers, fee_bp_for, expected_amounts, FULL_BP) live in
# services/terms.py, one implementation shared with the report checks.

FACTOR_FIELDS = (
    ("name", "Name"),
    ("remit_to", "Remit-to address"),
    ("submission_email", "Send batches to"),
    ("advance_bp", "Advance"),
    ("fee_kind", "Fee"),
    ("fee_bp", "Flat fee"),
    ("reserve_bp", "Reserve"),
    ("recourse_days", "Recourse days"),
    ("requires_rate_confirmation", "Requires the rate confirmation"),
    ("requires_proof_of_delivery", "Requires the proof of delivery"),
    ("batch_format", "Batch file format"),
    ("attachment_limit_mb", "Attachment limit (MB)"),
    ("cover_subject", "Email subject"),
    ("cover_message", "Cover message"),
    ("active", "Active"),
)
# What the default subject and cover message of "Email to <factor>" may name, each filled in
# for the batch sent (services/mail/factor.py).
COVER_PLACEHOLDERS = {
    "factor": "the factor's name",
    "subsidiary": "the subsidiary's name",
    "batch_number": "the batch number",
    "count": "how many invoices",
    "total": "the batch total",
    "sender": "who sends it",
    "company": "your company",
}
_PLACEHOLDER_RE = re.compile(r"\{([^{}]*)\}")
PERCENT_FIELDS = ("advance_bp", "fee_bp", "reserve_bp")
FLAGS = ("requires_rate_confirmation", "requires_proof_of_delivery", "active")

_PERCENT_RE = re.compile(r"^(\d{1,3})(?:\.(\d{0,2}))?$", re.ASCII)


# --- percentages ----------------------------------------------------------------------

def parse_percent(value, label="percentage"):
    """Basis points from a percentage typed as 97.5, 97.50 or 97.5 %; ValueError naming LABEL."""
    text = str(value if value is not None else "").strip().rstrip("%").strip()
    if not text:
        raise ValueError(f"Enter the {label} (0 to 100).")
    match = _PERCENT_RE.match(text)
    if not match:
        if re.match(r"^\d+\.\d{3,}$", text, re.ASCII):
            raise ValueError(f"The {label} takes at most 2 decimals, like 97.25.")
        raise ValueError(f"The {label} should be a percentage from 0 to 100, like 97.5.")
    bp = int(match.group(1)) * 100 + int((match.group(2) or "").ljust(2, "0"))
    if bp > FULL_BP:
        raise ValueError(f"The {label} should be from 0 to 100 %.")
    return bp


def percent_value(bp):
    """'97.50' (the form's value) from basis points."""
    return f"{bp // 100}.{bp % 100:02d}"


# --- reading --------------------------------------------------------------------------

def for_company(company, active_only=False):
    """The company's factors by name."""
    query = Factor.select().where(Factor.company == company)
    if active_only:
        query = query.where(Factor.active)
    return list(query.order_by(fn.LOWER(Factor.name), Factor.id))


def get(company, factor_id):
    """One factor of COMPANY, or None."""
    return Factor.get_or_none((Factor.company == company) & (Factor.id == factor_id))


def fee_in_words(factor, fee_tiers=None):
    """'a flat 2.50 % fee', or 'a fee of 2.00 % up to 30 days, 3.00 % up to 60 days (3.00 % after)'."""
    rows = fee_tiers if fee_tiers is not None else tiers(factor)
    if factor.fee_kind != FEE_TIERED or not rows:
        return f"a flat {percent(factor.fee_bp)} fee"
    steps = ", ".join(f"{percent(t.fee_bp)} up to {t.up_to_days} days" for t in rows)
    return f"a fee of {steps} ({percent(rows[-1].fee_bp)} after)"


def terms_in_words(factor, fee_tiers=None):
    """The agreed terms in one sentence, e.g. 'Advance 97.50 %, a flat 2.50 % fee, no reserve,
    non-recourse.'"""
    reserve = f"a {percent(factor.reserve_bp)} reserve" if factor.reserve_bp else "no reserve"
    recourse = (f"recourse after {factor.recourse_days} days" if factor.recourse_days
                else "non-recourse")
    return f"Advance {percent(factor.advance_bp)}, {fee_in_words(factor, fee_tiers)}, {reserve}, {recourse}."


def required_documents(factor):
    """The documents the factor wants behind each invoice, in words."""
    wanted = []
    if factor.requires_rate_confirmation:
        wanted.append("Rate confirmation")
    if factor.requires_proof_of_delivery:
        wanted.append("Proof of delivery (signed BOL)")
    return wanted


# The SubsidiaryFactor in force for a subsidiary on a day (today), or None.
current_assignment = assignment_on


def current_factor(subsidiary, on=None):
    """The factor SUBSIDIARY sells to on the day ON (today), or None."""
    assignment = current_assignment(subsidiary, on)
    return assignment.factor if assignment else None


def assignments(subsidiary_ids):
    """The assignments of the subsidiaries SUBSIDIARY_IDS, latest from-date first, with factor and
    who set it."""
    if not subsidiary_ids:
        return []
    return list(SubsidiaryFactor.select(SubsidiaryFactor, Factor, User)
                .join(Factor, on=(SubsidiaryFactor.factor == Factor.id))
                .switch(SubsidiaryFactor).join(User, JOIN.LEFT_OUTER, on=(SubsidiaryFactor.created_by == User.id))
                .where(SubsidiaryFactor.subsidiary.in_(subsidiary_ids))
                .order_by(SubsidiaryFactor.from_date.desc(), SubsidiaryFactor.id.desc()))


def _in_force(rows, on):
    """{subsidiary id: its assignment in force on the day ON} of ROWS (as assignments() returns
    them, latest from-date first)."""
    current = {}
    for row in rows:
        if row.from_date <= on:
            current.setdefault(row.subsidiary_id, row)
    return current


def subsidiaries_of(factor, on=None):
    """The subsidiaries whose current factor is FACTOR, by name (their assignments in one query)."""
    subs = list(Subsidiary.select().where(Subsidiary.company == factor.company_id).order_by(Subsidiary.name))
    current = _in_force(assignments([sub.id for sub in subs]), on or datetime.date.today())
    return [sub for sub in subs if sub.id in current and current[sub.id].factor_id == factor.id]


def factor_index(company):
    """Management > Factors: the company's factors, each with its terms in words."""
    return {"factors": [{"factor": f, "terms": terms_in_words(f)} for f in for_company(company)]}


def factor_page(factor):
    """A factor's page: its terms in words, tiers, documents, subsidiaries and batch count."""
    fee_tiers = tiers(factor)
    return {
        "factor": factor, "tiers": fee_tiers, "terms": terms_in_words(factor, fee_tiers),
        "documents": required_documents(factor), "subsidiaries": subsidiaries_of(factor),
        "format_label": format_labels().get(factor.batch_format, factor.batch_format),
        "batch_count": Batch.select().where(Batch.factor == factor).count(),
        "history": history(factor),
    }


def _changes(entry):
    """An audit row's change in words: 'Created' or 'fee_bp: 250 → 300; name: A → B'."""
    if entry.action == audit.FACTOR_CREATE:
        return "Created"
    before, after = (json.loads(text) if text else {} for text in (entry.before, entry.after))
    labels = dict(FACTOR_FIELDS, fee_tiers="Fee tiers")

    def shown(key, value):
        if key in PERCENT_FIELDS:
            return percent(value)
        if key == "fee_tiers":
            return ", ".join(f"{percent(fee)} up to {days} days" for days, fee in value) or "none"
        return "—" if value in ("", None) else str(value)
    return "; ".join(f"{labels.get(k, k)}: {shown(k, before.get(k))} → {shown(k, after[k])}" for k in sorted(after))


def history(factor, limit=20):
    """The factor's History, newest first: {when, who, what}."""
    rows = (audit.history("factor", factor.id).select_extend(User.name, User.email)
            .join(User, JOIN.LEFT_OUTER, on=(AuditLog.actor == User.id)).limit(limit))
    return [{"when": row.created_at, "who": row.actor.display_name if row.actor_id else "—",
             "what": _changes(row)} for row in rows]


def form_values(factor):
    """The form's values of an existing FACTOR (percentages as typed, tiers as rows)."""
    values = {name: getattr(factor, name) for name, _ in FACTOR_FIELDS}
    for name in PERCENT_FIELDS:
        values[name] = percent_value(getattr(factor, name))
    for n, tier in enumerate(tiers(factor), start=1):
        values[f"tier_{n}_days"] = tier.up_to_days
        values[f"tier_{n}_fee"] = percent_value(tier.fee_bp)
    return values


NEW_FACTOR = {"advance_bp": "97.50", "fee_kind": FEE_FLAT, "fee_bp": "2.50", "reserve_bp": "0.00",
              "recourse_days": 0, "requires_rate_confirmation": True, "requires_proof_of_delivery": True,
              "attachment_limit_mb": 20, "active": True}


# --- checking -------------------------------------------------------------------------

def _email(check, name="submission_email"):
    """One address where batches are sent: no list, no line breaks (it goes into a mail header)."""
    value = str(check.data.get(name) or "")
    if any(ch in value for ch in "\r\n"):
        check.error(name, "Enter one address on one line (no line breaks).")
    elif any(sep in value for sep in ",;") or value.count("@") > 1 or len(value.split()) > 1:
        check.error(name, "Enter one address only, like batches@factor.example (no list).")
    else:
        check.email(name)
    check.values[name] = value.strip().lower()


def _cover(check):
    """The default subject (one line) and cover message of "Email to <factor>"; {names} only of
    COVER_PLACEHOLDERS. Empty: the built-in wording."""
    subject = str(check.data.get("cover_subject") or "").strip()
    message = str(check.data.get("cover_message") or "").replace("\r\n", "\n").strip()
    if any(ch in subject for ch in "\r\n") or any(not ch.isprintable() for ch in subject):
        check.error("cover_subject", "The subject is one line: no line breaks.")
    elif len(subject) > 200:
        check.error("cover_subject", "The subject can be at most 200 characters.")
    if len(message) > 5000:
        check.error("cover_message", "The cover message can be at most 5,000 characters.")
    for name, text in (("cover_subject", subject), ("cover_message", message)):
        unknown = sorted({found for found in _PLACEHOLDER_RE.findall(text) if found not in COVER_PLACEHOLDERS})
        if unknown and name not in check.errors:
            check.error(name, "Unknown placeholder " + ", ".join("{" + u + "}" for u in unknown) + ": use "
                        + ", ".join("{" + k + "}" for k in COVER_PLACEHOLDERS) + ".")
    check.values["cover_subject"] = subject
    check.values["cover_message"] = message


def _remit_to(check, name="remit_to"):
    """Up to 6 lines of up to 100 characters; blank lines dropped."""
    lines = [" ".join(line.split()) for line in str(check.data.get(name) or "").splitlines()]
    lines = [line for line in lines if line]
    if len(lines) > 6 or any(len(line) > 100 for line in lines):
        check.error(name, "The remit-to address takes at most 6 lines of 100 characters.")
    check.values[name] = "\n".join(lines)


def _tiers(check):
    """The fee tiers typed in rows 1..MAX_TIERS: [(up_to_days, fee_bp)], sorted, none overlapping."""
    rows = []
    for n in range(1, MAX_TIERS + 1):
        days_name, fee_name = f"tier_{n}_days", f"tier_{n}_fee"
        days, fee = check.raw(days_name), check.raw(fee_name)
        if not days and not fee:
            continue
        days_value = check.integer(days_name, f"days of tier {n}", minimum=1, maximum=365)
        fee_value = check.field(fee_name, parse_percent, f"fee of tier {n}")
        if isinstance(days_value, int) and fee_value is not None and days_name not in check.errors:
            if rows and days_value <= rows[-1][0]:
                check.error(days_name, f"Tier {n} must reach further than tier {len(rows)} "
                                       f"({rows[-1][0]} days): list the tiers from the shortest, "
                                       "each up to more days than the one before.")
            rows.append((days_value, fee_value))
    return rows


def clean_factor(data, company, exclude_id=None):
    """(checked values, fee tiers), or raise Invalid naming every problem."""
    check = Checker(data)
    check.text("name", "name", required=True, max_length=100)
    _remit_to(check)
    _email(check)
    _cover(check)
    for name, label in (("advance_bp", "advance"), ("fee_bp", "flat fee"), ("reserve_bp", "reserve")):
        if name == "fee_bp" and check.raw("fee_kind") == FEE_TIERED and not check.raw(name):
            check.values[name] = 0
            continue
        check.field(name, parse_percent, label)
    check.choice("fee_kind", "fee", FEE_KINDS, default=FEE_FLAT)
    check.integer("recourse_days", "recourse days", minimum=0, maximum=365, default=0)
    check.choice("batch_format", "batch file format", format_labels(),
                 default=next(iter(format_labels())))
    check.integer("attachment_limit_mb", "attachment limit", minimum=1, maximum=100, default=20)
    for name in FLAGS:
        check.values[name] = check.raw(name) in ("1", "on", "true", "True", "yes")
    fee_tiers = _tiers(check)
    if check.values.get("fee_kind") == FEE_TIERED and not fee_tiers and "tier_1_days" not in check.errors:
        check.error("tier_1_days", "A fee by days outstanding needs at least one tier.")
    if check.values.get("fee_kind") == FEE_FLAT:
        fee_tiers = []
    advance, reserve = check.values.get("advance_bp"), check.values.get("reserve_bp")
    if isinstance(advance, int) and isinstance(reserve, int) and advance + reserve > FULL_BP:
        check.error("reserve_bp", "The advance and the reserve together cannot be more than 100 %.")
    if "name" not in check.errors and _name_taken(company, check.values["name"], exclude_id):
        check.error("name", _taken_message(check.values["name"]))
    return check.done(dict(FACTOR_FIELDS)), fee_tiers


def _name_taken(company, name, exclude_id=None):
    query = Factor.select().where((Factor.company == company) & (fn.LOWER(Factor.name) == name.lower()))
    if exclude_id is not None:
        query = query.where(Factor.id != exclude_id)
    return query.exists()


def _taken_message(name):
    return f"A factor named {name} already exists in this company. Use another name or edit that one."


# --- writing --------------------------------------------------------------------------

def _snapshot(values, fee_tiers):
    """What the audit row keeps of a factor: its fields and its tiers."""
    return dict(values, fee_tiers=[list(t) for t in fee_tiers])


def _write_tiers(factor_id, fee_tiers):
    FactorFeeTier.delete().where(FactorFeeTier.factor == factor_id).execute()
    if fee_tiers:
        FactorFeeTier.insert_many([{"factor": factor_id, "up_to_days": d, "fee_bp": f}
                                   for d, f in fee_tiers]).execute()


def create_factor(company, data, *, actor):
    """Add a factor to COMPANY (name unique in the company); audited factor.create."""
    values, fee_tiers = clean_factor(data, company)
    try:
        with db.atomic():
            factor = Factor.create(company=company, **values)
            _write_tiers(factor.id, fee_tiers)
            audit.record(audit.FACTOR_CREATE, "factor", factor.id, actor=actor, company=company,
                         after=_snapshot(values, fee_tiers))
    except IntegrityError:
        raise Invalid({"name": _taken_message(values["name"])})
    return factor


def update_factor(factor, data, *, actor):
    """Change a factor's record; audited factor.update with what changed, before and after."""
    values, fee_tiers = clean_factor(data, factor.company_id, exclude_id=factor.id)
    old = _snapshot({k: getattr(factor, k) for k in values}, [(t.up_to_days, t.fee_bp) for t in tiers(factor)])
    new = _snapshot(values, fee_tiers)
    before = {k: old[k] for k in new if old[k] != new[k]}
    after = {k: new[k] for k in before}
    if not after:
        return factor
    changed = {k: v for k, v in after.items() if k != "fee_tiers"}
    try:
        with db.atomic():
            if changed:
                Factor.update(**changed).where(Factor.id == factor.id).execute()
            if "fee_tiers" in after:
                _write_tiers(factor.id, fee_tiers)
            audit.record(audit.FACTOR_UPDATE, "factor", factor.id, actor=actor, company=factor.company_id,
                         before=before, after=after)
    except IntegrityError:
        raise Invalid({"name": _taken_message(values["name"])})
    for key, value in changed.items():
        setattr(factor, key, value)
    return factor


def _from_date(check, name="from_date"):
    try:
        value = parse_date_input(check.raw(name))
    except ValueError:
        value = None
    if value is None:
        check.error(name, "Enter the date the factor takes over, like 12/01/2026.")
    elif not datetime.date(2000, 1, 1) <= value <= datetime.date.today() + datetime.timedelta(days=366):
        check.error(name, "Choose a date from 2000 to a year from today.")
    check.values[name] = value
    return value


def assign(subsidiary, data, *, actor):
    """Assign SUBSIDIARY to one of its company's active factors from a date (DATA: factor_id,
    from_date); a second assignment on the same date replaces the first. Batches already sent
    keep their factor. Audited subsidiary.factor; returns the SubsidiaryFactor."""
    check = Checker(data)
    factor_id = check.raw("factor_id")
    factor = None
    if factor_id.isascii() and factor_id.isdigit() and len(factor_id) < 19:
        factor = Factor.get_or_none((Factor.id == int(factor_id)) & (Factor.company == subsidiary.company_id))
    if factor is None:
        check.error("factor_id", "Choose one of the company's factors.")
    elif not factor.active:
        check.error("factor_id", f"{factor.name} is inactive; make it active in Management > Factors first.")
    from_date = _from_date(check)
    check.done({"factor_id": "Factor", "from_date": "From"})
    with db.atomic():
        existing = SubsidiaryFactor.get_or_none((SubsidiaryFactor.subsidiary == subsidiary)
                                                & (SubsidiaryFactor.from_date == from_date))
        before = {"factor": existing.factor.name, "from_date": from_date} if existing else None
        if existing and existing.factor_id == factor.id:
            return existing
        if existing:
            existing.factor, existing.created_by = factor, actor
            existing.save()
            row = existing
        else:
            row = SubsidiaryFactor.create(subsidiary=subsidiary, factor=factor, from_date=from_date,
                                          created_by=actor)
        audit.record(audit.SUBSIDIARY_FACTOR, "subsidiary", subsidiary.id, actor=actor,
                     company=subsidiary.company_id, before=before,
                     after={"factor": factor.name, "factor_id": factor.id, "from_date": from_date})
    return row


def company_profile(company, subsidiary=None):
    """Management > Company Profile (subsidiaries.profile) with each subsidiary's current factor
    and, for the one shown, its assignments and the factors it may be assigned to. The
    assignments of every subsidiary come in one query."""
    context = profile(company, subsidiary)
    today = datetime.date.today()
    rows = assignments([sub.id for sub in context["subsidiaries"]])
    by_subsidiary = {}
    for row in rows:
        by_subsidiary.setdefault(row.subsidiary_id, []).append(row)
    current = _in_force(rows, today)
    context["factor_of"] = {sub.id: current[sub.id].factor if sub.id in current else None
                            for sub in context["subsidiaries"]}
    chosen = context.get("subsidiary")
    if chosen is not None:
        context.update(current_factor=context["factor_of"].get(chosen.id),
                       factor_history=by_subsidiary.get(chosen.id, []),
                       factor_choices=for_company(company, active_only=True), today=today)
    return context
