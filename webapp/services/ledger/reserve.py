"""Reports > Reserve: the reserve account, as a factor's client portal shows it.

The summary (held, released, charged against chargebacks, balance, per factor and subsidiary)
is read from the running totals; the statement is every ledger row that matches the filters
(factor, subsidiary, date range, kind), with the reserve's running balance on each reserve row.
Its count and its sum come from the all-time running totals (ledger_balance) when no date is
given; otherwise they, and the balance before a page, come from the monthly running totals, with
only the rows of a month a date cuts through read from the ledger.
"""
import collections
import dataclasses
import datetime

from peewee import JOIN
from peewee import fn

from webapp.models import LEDGER_KINDS
from webapp.models import LEDGER_RESERVE_CHARGED
from webapp.models import LEDGER_RESERVE_HELD
from webapp.models import LEDGER_RESERVE_RELEASED
from webapp.models import Factor
from webapp.models import LedgerBalance
from webapp.models import LedgerEntry
from webapp.models import LedgerTotal
from webapp.models import Load
from webapp.models import Subsidiary
from webapp.services.paging import PageRequest
from webapp.services.tables import parse_date
from webapp.services.validation import db_id

# A reserve row's effect on the balance.
RESERVE_SIGNS = {LEDGER_RESERVE_HELD: 1, LEDGER_RESERVE_RELEASED: -1, LEDGER_RESERVE_CHARGED: -1}


@dataclasses.dataclass
class Filters:
    """What the statement is limited to (None: everything)."""

    factor: int = None
    subsidiary: int = None
    date_from: datetime.date = None
    date_to: datetime.date = None
    kind: str = ""
    errors: dict = dataclasses.field(default_factory=dict)

    @classmethod
    def from_args(cls, args):
        """From the query string; a value that is not one is named in errors and left out."""
        out = cls(factor=db_id(args.get("factor")), subsidiary=db_id(args.get("subsidiary")))
        for name in ("date_from", "date_to"):
            text = (args.get(name) or "").strip()
            if text:
                try:
                    setattr(out, name, parse_date(text))
                except ValueError:
                    out.errors[name] = f"'{text[:20]}' is not a date (use 2026-11-25)."
        kind = args.get("kind") or ""
        if kind and kind not in LEDGER_KINDS:
            out.errors["kind"] = "Choose a kind from the list."
        else:
            out.kind = kind
        return out

    def args(self):
        """The filters as query-string pairs (for the export links and the pager)."""
        pairs = {"factor": self.factor, "subsidiary": self.subsidiary, "kind": self.kind,
                 "date_from": self.date_from.isoformat() if self.date_from else None,
                 "date_to": self.date_to.isoformat() if self.date_to else None}
        return {k: v for k, v in pairs.items() if v}

    def where(self, company):
        cond = LedgerEntry.company == company.id
        if self.factor:
            cond &= LedgerEntry.factor == self.factor
        if self.subsidiary:
            cond &= LedgerEntry.subsidiary == self.subsidiary
        if self.date_from:
            cond &= LedgerEntry.entry_date >= self.date_from
        if self.date_to:
            cond &= LedgerEntry.entry_date <= self.date_to
        if self.kind:
            cond &= LedgerEntry.kind == self.kind
        return cond


def balances(company):
    """[{factor, subsidiary, held, released, charged, balance}] from the all-time running totals
    (ledger_balance), and the total."""
    rows = (LedgerBalance.select(LedgerBalance.factor_key, Factor.name.alias("factor_name"), LedgerBalance.subsidiary,
                                 Subsidiary.name.alias("subsidiary_name"), LedgerBalance.kind,
                                 LedgerBalance.amount_cents.alias("cents"))
            .join(Subsidiary, on=(LedgerBalance.subsidiary == Subsidiary.id))
            .join_from(LedgerBalance, Factor, JOIN.LEFT_OUTER, on=(LedgerBalance.factor_key == Factor.id))
            .where((LedgerBalance.company == company.id) & LedgerBalance.kind.in_(tuple(RESERVE_SIGNS))
                   & (LedgerBalance.n > 0))
            .dicts())
    by_key = {}
    for r in rows:
        item = by_key.setdefault((r["factor_key"], r["subsidiary"]), {
            "factor_id": r["factor_key"], "factor": r["factor_name"] or "No factor", "subsidiary_id": r["subsidiary"],
            "subsidiary": r["subsidiary_name"], "held": 0, "released": 0, "charged": 0})
        item[{LEDGER_RESERVE_HELD: "held", LEDGER_RESERVE_RELEASED: "released",
              LEDGER_RESERVE_CHARGED: "charged"}[r["kind"]]] += int(r["cents"] or 0)
    items = sorted(by_key.values(), key=lambda x: (x["factor"], x["subsidiary"]))
    total = {"held": 0, "released": 0, "charged": 0}
    for item in items:
        item["balance"] = item["held"] - item["released"] - item["charged"]
        for key in total:
            total[key] += item[key]
    total["balance"] = total["held"] - total["released"] - total["charged"]
    return items, total


def statement_query(company, filters):
    """The statement's rows, oldest first, with the load, factor and subsidiary names."""
    return (LedgerEntry.select(LedgerEntry.id, LedgerEntry.entry_date, LedgerEntry.kind, LedgerEntry.amount_cents,
                               LedgerEntry.load, LedgerEntry.batch, LedgerEntry.upload, LedgerEntry.row_number,
                               LedgerEntry.reversal_of, LedgerEntry.reason,
                               Load.load_number, Load.invoice_number, Factor.name.alias("factor_name"),
                               Subsidiary.name.alias("subsidiary_name"))
            .join(Subsidiary, on=(LedgerEntry.subsidiary == Subsidiary.id))
            .join_from(LedgerEntry, Factor, JOIN.LEFT_OUTER, on=(LedgerEntry.factor == Factor.id))
            .join_from(LedgerEntry, Load, JOIN.LEFT_OUTER, on=(LedgerEntry.load == Load.id))
            .where(filters.where(company))
            .order_by(LedgerEntry.entry_date, LedgerEntry.id))


@dataclasses.dataclass
class ReserveAccount:
    filters: Filters
    balances: list
    total: dict
    rows: list
    opening: int  # the reserve balance before the first row shown
    page: int
    pages: int
    count: int
    sum_cents: int  # the amounts of every filtered row added up (what a dashboard figure says)
    factors: list
    subsidiaries: list
    kinds: dict


def _month_start(day):
    return day.replace(day=1)


def _next_month(day):
    return (day.replace(day=28) + datetime.timedelta(days=4)).replace(day=1)


def sums(company, filters, before=None):
    """(rows, {kind: cents}) of the statement's filtered rows (before the row BEFORE, a (date,
    id), when given). With no dates, from the all-time running totals (ledger_balance);
    otherwise whole months from the monthly ones (ledger_total), the rows of the months the
    dates cut through read from the ledger (at most two months)."""
    start, end = filters.date_from, filters.date_to        # end inclusive; None: open
    if before is not None:
        end = before[0] if end is None or before[0] <= end else end
    out = collections.Counter()
    if start is None and end is None:
        count = _add_kind_sums(LedgerBalance, fn.SUM(LedgerBalance.n), _totals_where(LedgerBalance, company, filters),
                               out)
        return count, out
    count = 0
    # The whole months: from the month after a cut start to the month before a cut end.
    first = None if start is None else (start if start.day == 1 else _next_month(start))
    last = None if end is None else (_next_month(end) if (before is None and _next_month(end) - datetime.timedelta(
        days=1) == end) else _month_start(end))        # exclusive
    cond = _totals_where(LedgerTotal, company, filters)
    if first is not None:
        cond &= LedgerTotal.month >= first
    if last is not None:
        cond &= LedgerTotal.month < last
    if first is None or last is None or first < last:
        count += _add_kind_sums(LedgerTotal, fn.SUM(LedgerTotal.entries), cond, out)
    # The cut months' rows, from the ledger itself.
    cuts = []
    if start is not None and first is not None and start < first:
        cuts.append((start, min(first - datetime.timedelta(days=1), end) if end else first - datetime.timedelta(days=1)))
    if end is not None and last is not None and last <= end:
        low = max(last, start) if start else last
        if not cuts or low > cuts[0][1]:
            cuts.append((low, end))
    for low, high in cuts:
        cond = filters.where(company) & (LedgerEntry.entry_date >= low) & (LedgerEntry.entry_date <= high)
        if before is not None and high == before[0]:
            cond &= (LedgerEntry.entry_date < before[0]) | (LedgerEntry.id < before[1])
        count += _add_kind_sums(LedgerEntry, fn.COUNT(LedgerEntry.id), cond, out)
    return count, out


def _totals_where(table, company, filters):
    """FILTERS' factor, subsidiary and kind as terms on a running-totals TABLE (ledger_total and
    ledger_balance keep the same keys)."""
    cond = table.company == company.id
    if filters.factor:
        cond &= table.factor_key == filters.factor
    if filters.subsidiary:
        cond &= table.subsidiary == filters.subsidiary
    if filters.kind:
        cond &= table.kind == filters.kind
    return cond


def _add_kind_sums(table, rows, cond, out):
    """Add TABLE's amounts under COND, summed by kind, into OUT (a Counter of cents by kind);
    returns how many ledger rows they are (ROWS: the aggregate that counts them)."""
    count = 0
    for kind, n, cents in (table.select(table.kind, rows, fn.SUM(table.amount_cents))
                           .where(cond).group_by(table.kind).tuples()):
        count += int(n or 0)
        out[kind] += int(cents or 0)
    return count


def _opening(company, filters, before_row):
    """The reserve balance of the filtered rows before BEFORE_ROW (date, id)."""
    if before_row is None:
        return 0
    _n, by_kind = sums(company, filters, before=before_row)
    return sum(RESERVE_SIGNS[kind] * cents for kind, cents in by_kind.items() if kind in RESERVE_SIGNS)


def reserve_account(company, args):
    """Reports > Reserve in one call: the balances, and one page of the filtered statement."""
    filters = Filters.from_args(args)
    items, total = balances(company)
    request = PageRequest.from_args(args, default_per_page=100)
    query = statement_query(company, filters)
    count, by_kind = sums(company, filters)
    sum_cents = sum(by_kind.values())
    pages = max(1, -(-count // request.per_page))
    page = min(request.page, pages)
    rows = list(query.paginate(page, request.per_page).namedtuples())
    opening = _opening(company, filters, (rows[0].entry_date, rows[0].id) if rows and page > 1 else None)
    running = opening
    shown = []
    for r in rows:
        sign = RESERVE_SIGNS.get(r.kind)
        if sign:
            running += sign * r.amount_cents
        shown.append({"row": r, "kind_label": LEDGER_KINDS.get(r.kind, r.kind),
                      "reserve": sign * r.amount_cents if sign else None, "balance": running if sign else None})
    factors = list(Factor.select(Factor.id, Factor.name).where(Factor.company == company.id).order_by(Factor.name)
                   .tuples())
    subsidiaries = list(Subsidiary.select(Subsidiary.id, Subsidiary.name).where(Subsidiary.company == company.id)
                        .order_by(Subsidiary.name).tuples())
    return ReserveAccount(filters, items, total, shown, opening, page, pages, count, sum_cents, factors, subsidiaries,
                          LEDGER_KINDS)
