"""Running counts and totals of each company's loads, so that lists and the home page never
count rows.

load_tally holds, per (company, subsidiary, billing status, invoicing method), how many loads
there are and their face total; the database keeps it in the same transaction as every write
to load (triggers, migration 0018), so no code path can forget it. A narrower filter (a
customer, a search, dates) counts with a bound instead: bounded_count.
"""
import dataclasses

from peewee import fn

from webapp.models import LoadTally
from webapp.services.sql import select

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
    """Totals(count, total_cents) of the company's loads, narrowed by any of the three keys
    (one read of load_tally: a few rows per subsidiary; plain SQL, as the Loads list runs it on
    every request)."""
    where, params = ["company_id = {p}"], [company_id]
    for column, value in (("subsidiary_id", subsidiary_id), ("billing_status", status),
                          ("invoicing_method", method)):
        if value:
            where.append(f"{column} = {{p}}")
            params.append(value)
    ((n, total),) = select(f"SELECT COALESCE(SUM(n), 0), COALESCE(SUM(total_cents), 0) "
                           f"FROM {LoadTally._meta.table_name} WHERE {' AND '.join(where)}", params)
    return Totals(int(n), int(total))


def by_status(company_id, *, method=None):
    """{(billing status, invoicing method): Totals} of the company (one method only with METHOD)."""
    query = (LoadTally.select(LoadTally.billing_status, LoadTally.invoicing_method, fn.SUM(LoadTally.n),
                              fn.SUM(LoadTally.total_cents))
             .where(LoadTally.company == company_id))
    if method:
        query = query.where(LoadTally.invoicing_method == method)
    return {(status, m): Totals(int(n), int(total)) for status, m, n, total in
            query.group_by(LoadTally.billing_status, LoadTally.invoicing_method).tuples() if n}


def bounded_count(query, bound=BOUND):
    """Count(n, capped) of a peewee SELECT: exact up to BOUND rows, "BOUND+" beyond (reads at
    most BOUND + 1 index entries however many rows match)."""
    inner = query.order_by().limit(bound + 1)
    n = inner.count()
    return Count(min(n, bound), n > bound)
