"""Running counts and totals of each company's loads, so that lists and the home page never
count rows.

load_tally holds, per (company, subsidiary, billing status, invoicing method), how many loads
there are and their face total; the database keeps it in the same transaction as every write
to load (triggers, migration 0018), so no code path can forget it. A narrower filter (a
customer, a search, dates) counts with a bound instead: bounded_count.
"""
import dataclasses

from peewee import fn

from webapp.models import Load

BOUND = 10_000


@dataclasses.dataclass(frozen=True)
class Totals:
    count: int = 0
    total_cents: int = 0


@dataclasses.dataclass(frozen=True)
class Count:
    """A count that stops at a bound: n is exact when capped is False, else "BOUND+"."""

    n: int
    capped: bool = False

    def __int__(self):
        return self.n

    def __str__(self):
        return f"{self.n:,}+" if self.capped else f"{self.n:,}"


def load_totals(company_id, *, subsidiary_id=None, status=None, method=None):
    """Totals(count, total_cents) of the company's loads, narrowed by any of the three keys."""
    terms = [Load.company == company_id]
    if subsidiary_id:
        terms.append(Load.subsidiary == subsidiary_id)
    if status:
        terms.append(Load.billing_status == status)
    if method:
        terms.append(Load.invoicing_method == method)
    n, total = Load.select(fn.COUNT(Load.id), fn.COALESCE(fn.SUM(Load.total_cents), 0)).where(*terms).scalar(
        as_tuple=True)
    return Totals(int(n or 0), int(total or 0))


def by_status(company_id, *, method=None):
    """{(billing status, invoicing method): Totals} of the company (one method only with METHOD)."""
    query = (Load.select(Load.billing_status, Load.invoicing_method, fn.COUNT(Load.id),
                         fn.COALESCE(fn.SUM(Load.total_cents), 0))
             .where(Load.company == company_id))
    if method:
        query = query.where(Load.invoicing_method == method)
    return {(status, m): Totals(int(n), int(total))
            for status, m, n, total in query.group_by(Load.billing_status, Load.invoicing_method).tuples()}


def bounded_count(query, bound=BOUND):
    """Count(n, capped) of a peewee SELECT: exact up to BOUND rows, "BOUND+" beyond (reads at
    most BOUND + 1 index entries however many rows match)."""
    inner = query.order_by().limit(bound + 1)
    n = inner.count()
    return Count(min(n, bound), n > bound)
