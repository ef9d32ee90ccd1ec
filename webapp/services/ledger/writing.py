"""Writing the ledger: append-only rows, each in the transaction of its money event, and the
running totals (LedgerTotal) kept with them.

record() takes Entry tuples (record_rows() the same rows as plain tuples, for thousands);
reverse() writes, for every row an upload caused that is not reversed yet, the same row with
the amount negated and reversal_of set. A reversal keeps the
original's date (the month's figures say what was really collected or charged) and is
caused by the person who undid it, with their reason.
"""
import collections
import datetime

from peewee import EXCLUDED
from peewee import fn

from webapp.models import LedgerEntry
from webapp.models import LedgerTotal
from webapp.models import utcnow
from webapp.services.sql import bulk_insert
from webapp.services.sql import chunks
from webapp.services.sql import stamp

# One money event. company/subsidiary/factor/load/batch/upload/actor/chargeback are ids.
Entry = collections.namedtuple("Entry", [
    "company", "subsidiary", "factor", "load", "batch", "kind", "amount_cents", "entry_date",
    "upload", "row_number", "actor", "chargeback", "reversal_of", "reason"],
    defaults=(None, None, None, None, None, ""))

_FIELDS = (LedgerEntry.company, LedgerEntry.subsidiary, LedgerEntry.factor, LedgerEntry.load,
           LedgerEntry.batch, LedgerEntry.kind, LedgerEntry.amount_cents, LedgerEntry.entry_date,
           LedgerEntry.upload, LedgerEntry.row_number, LedgerEntry.actor, LedgerEntry.chargeback,
           LedgerEntry.reversal_of, LedgerEntry.reason, LedgerEntry.created_at)


def month_of(day):
    """The first of DAY's month (a date, or ISO text as SQLite hands it back)."""
    if isinstance(day, str):
        day = datetime.date.fromisoformat(day[:10])
    if isinstance(day, datetime.datetime):
        day = day.date()
    return day.replace(day=1)


def _id(value):
    return getattr(value, "id", value)


def record(entries, *, now=None):
    """Append ENTRIES (Entry tuples; rows of zero are left out) and add them to the running
    totals. Call inside the transaction that changes the money. Returns the rows written."""
    rows = []
    for e in entries:
        if not e.amount_cents:
            continue
        day = e.entry_date
        if isinstance(day, datetime.datetime):
            day = day.date()
        rows.append((_id(e.company), _id(e.subsidiary), _id(e.factor), _id(e.load), _id(e.batch), e.kind,
                     int(e.amount_cents), day.isoformat(), _id(e.upload), e.row_number, _id(e.actor),
                     _id(e.chargeback), _id(e.reversal_of), e.reason or ""))
    return record_rows(rows, now=now)


def record_rows(rows, *, now=None):
    """record() of ROWS already as the database takes them: tuples of an Entry's fields in order,
    ids and whole cents, the day as ISO text, no row of zero. An applied report writes
    thousands of them; building an Entry for each costs more than writing it."""
    if not rows:
        return 0
    created = stamp(now or utcnow())
    sums = {}
    for r in rows:
        key = (r[0], r[1], r[2] or 0, r[5], r[7][:7])
        amount, n = sums.get(key, (0, 0))
        sums[key] = (amount + r[6], n + 1)
    bulk_insert(LedgerEntry, _FIELDS, [r + (created,) for r in rows])
    _add_to_totals({(c, s, f, k, month_of(m + "-01")): value for (c, s, f, k, m), value in sums.items()})
    return len(rows)


def _add_to_totals(totals):
    """Upsert the sums; keys in one order so two writers never wait on each other in a cycle."""
    items = sorted(totals.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2], kv[0][3], kv[0][4]))
    for chunk in chunks(items, 200):
        (LedgerTotal.insert_many(
            [{"company": c, "subsidiary": s, "factor_key": f, "kind": k, "month": m,
              "amount_cents": amount, "entries": n} for (c, s, f, k, m), (amount, n) in chunk])
         .on_conflict(conflict_target=[LedgerTotal.company, LedgerTotal.subsidiary, LedgerTotal.factor_key,
                                       LedgerTotal.kind, LedgerTotal.month],
                      update={LedgerTotal.amount_cents: LedgerTotal.amount_cents + EXCLUDED.amount_cents,
                              LedgerTotal.entries: LedgerTotal.entries + EXCLUDED.entries})
         .execute())


def _reversals(query, actor, reason):
    """Entries that reverse the rows of QUERY not reversed yet (reversals are never reversed)."""
    later = LedgerEntry.alias()
    reversed_already = fn.EXISTS(later.select(later.id).where(later.reversal_of == LedgerEntry.id))
    rows = query.where(LedgerEntry.reversal_of.is_null() & ~reversed_already).order_by(LedgerEntry.id)
    return [Entry(r.company_id, r.subsidiary_id, r.factor_id, r.load_id, r.batch_id, r.kind, -r.amount_cents,
                  r.entry_date, None, None, _id(actor), r.chargeback_id, r.id, reason or "")
            for r in rows]


def reverse(*, cause_upload_id, actor=None, reason=""):
    """Reverse every ledger row the upload caused and nothing has reversed yet (an undo).
    Returns the reversing rows written."""
    query = LedgerEntry.select().where(LedgerEntry.upload == cause_upload_id)
    return record(_reversals(query, actor, reason))


def reverse_chargeback(chargeback_id, *, actor=None, reason=""):
    """Reverse the ledger rows of one chargeback."""
    query = LedgerEntry.select().where(LedgerEntry.chargeback == chargeback_id)
    return record(_reversals(query, actor, reason))
