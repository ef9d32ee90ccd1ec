"""Lists in pages: what page and order a person asked for, and one page of rows.

No Flask here: views hand in their query-string mapping (request.args) and the
service that owns a list turns it into a Page.
"""
import dataclasses
import math

PER_PAGE_CHOICES = (25, 50, 100, 200)
MAX_PAGE = 1_000_000


def _int(args, name, default):
    try:
        return int(args.get(name) or default)
    except (TypeError, ValueError):
        return default


@dataclasses.dataclass(frozen=True)
class PageRequest:
    """Which page, and how many rows a page; clamped to sane values."""

    page: int = 1
    per_page: int = 50

    @classmethod
    def from_args(cls, args, default_per_page=50):
        """?page=N&per_page=N from a query-string mapping; nonsense gives the defaults."""
        per_page = _int(args, "per_page", default_per_page)
        if per_page not in PER_PAGE_CHOICES:
            per_page = default_per_page
        return cls(max(1, min(_int(args, "page", 1), MAX_PAGE)), per_page)


@dataclasses.dataclass(frozen=True)
class Sort:
    """?sort=key&dir=asc|desc, the key one of the list's own."""

    key: str
    desc: bool = False

    @classmethod
    def from_args(cls, args, keys, default, *, default_desc=False):
        """The sort asked for; an unknown key falls back to DEFAULT. With no sort asked for at
        all, DEFAULT_DESC says the list's natural direction (newest first, say)."""
        key = args.get("sort")
        if key is None and default_desc:
            return cls(default, True)
        if key not in keys:
            key = default
        return cls(key, args.get("dir", "asc") == "desc")

    def order(self, columns):
        """ORDER BY terms for COLUMNS[key] (a field or a tuple of fields), in this direction."""
        fields = columns[self.key] if isinstance(columns[self.key], tuple) else (columns[self.key],)
        return [f.desc() if self.desc else f.asc() for f in fields]


class Page:
    """One page of a list: its rows, the total count and the numbers its links need.

    TOTAL is an int, or a count that stops at a bound (services.tallies.Count: n, capped), whose
    str() reads "10,000+". FETCH(page_number, limit) returns up to LIMIT rows of that page (a page
    holds per_page rows; LIMIT is one more when Page must see whether a next page exists). An exact
    total clamps the page number to the pages there are; a capped one cannot, so the pages read
    "400+", Next shows while a row lies beyond the page, and there is no last page to jump to.
    """

    def __init__(self, total, request, fetch):
        self.per_page = request.per_page
        self.capped = bool(getattr(total, "capped", False))
        self._more = False
        counted = int(total)
        known_pages = max(1, math.ceil(counted / request.per_page))
        if not self.capped:
            self.total = total
            self.pages = known_pages
            self.page = min(max(1, request.page), self.pages)
            self.items = fetch(self.page, self.per_page)
            return
        self.page = max(1, request.page)
        rows = fetch(self.page, self.per_page + 1)
        self.items = rows[:self.per_page]
        self._more = len(rows) > self.per_page
        if self._more or not self.items:
            self.total = total
            self.pages = max(known_pages, self.page + 1 if self._more else self.page)
            return
        # The last page, past the bound: now the exact total is known.
        self.capped = False
        self.total = (self.page - 1) * self.per_page + len(self.items)
        self.pages = self.page

    @classmethod
    def of_query(cls, query, request, total=None):
        """A page of an ordered peewee QUERY; TOTAL when it is already known (one scan less)."""
        if total is None:
            total = query.order_by().count()
        return cls(total, request,
                   lambda number, limit: list(query.offset((number - 1) * request.per_page).limit(limit)))

    @property
    def total_label(self):
        """The count as the pager says it: "1,234", or "10,000+" when capped (never less than the
        rows shown, however deep the page)."""
        if self.capped:
            return f"{max(int(self.total), self.last_index):,}+"
        return f"{int(self.total):,}"

    @property
    def pages_label(self):
        """How many pages, as the pager says it: "1,017", or "400+" when the count is capped."""
        return f"{self.pages:,}+" if self.capped else f"{self.pages:,}"

    @property
    def has_prev(self):
        return self.page > 1

    @property
    def has_next(self):
        return self._more if self.capped else self.page < self.pages

    @property
    def first_index(self):
        return 0 if not self.items else (self.page - 1) * self.per_page + 1

    @property
    def last_index(self):
        return (self.page - 1) * self.per_page + len(self.items)
