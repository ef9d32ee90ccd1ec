"""Lists: sorting by a whitelisted column and pagination, read from the query string."""
import math

from flask import request

PER_PAGE_CHOICES = (25, 50, 100, 200)


class Page:
    """One page of a query: its rows, the total count and the links' numbers."""

    def __init__(self, query, page, per_page):
        self.total = query.count()
        self.per_page = per_page
        self.pages = max(1, math.ceil(self.total / per_page))
        self.page = min(max(1, page), self.pages)
        self.items = list(query.paginate(self.page, per_page))

    @property
    def has_prev(self):
        return self.page > 1

    @property
    def has_next(self):
        return self.page < self.pages

    @property
    def first_index(self):
        return 0 if not self.total else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self):
        return min(self.total, self.page * self.per_page)


def page_args(default_per_page=50):
    """page and per_page from the query string, clamped to sane values."""
    page = request.args.get("page", 1, type=int) or 1
    per_page = request.args.get("per_page", default_per_page, type=int)
    if per_page not in PER_PAGE_CHOICES:
        per_page = default_per_page
    return max(1, min(page, 1_000_000)), per_page


def sort_args(columns, default):
    """(key, descending, order_by expressions) for ?sort=key&dir=asc|desc.

    COLUMNS maps a public key to a field (or a tuple of fields); unknown keys fall back
    to DEFAULT. The row id is always the last tie-breaker so pages are stable.
    """
    key = request.args.get("sort", default)
    if key not in columns:
        key = default
    desc = request.args.get("dir", "asc") == "desc"
    fields = columns[key] if isinstance(columns[key], tuple) else (columns[key],)
    return key, desc, [f.desc() if desc else f.asc() for f in fields]


def paginate(query, order_by, model, default_per_page=50):
    """Order QUERY (plus the model's id as tie-breaker) and return the requested Page."""
    page, per_page = page_args(default_per_page)
    return Page(query.order_by(*order_by, model.id.desc()), page, per_page)
