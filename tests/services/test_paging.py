"""services/paging.Page: exact totals clamp the page; a count capped at a bound ("10,000+") pages on
with Next while rows lie beyond, and learns the exact total on the last page."""
from webapp.services.paging import Page
from webapp.services.paging import PageRequest
from webapp.services.tallies import Count


def _fetcher(rows, calls=None):
    """A FETCH over the list ROWS, noting each (page, limit) asked for in CALLS."""
    def fetch(number, limit):
        if calls is not None:
            calls.append((number, limit))
        start = (number - 1) * 25
        return rows[start:start + limit]
    return fetch


def test_an_exact_total_clamps_the_page_and_reads_its_pages():
    page = Page(72, PageRequest(page=9, per_page=25), _fetcher(list(range(72))))
    assert (page.page, page.pages, page.pages_label, page.total_label) == (3, 3, "3", "72")
    assert page.items == list(range(50, 72))
    assert (page.first_index, page.last_index, page.has_prev, page.has_next) == (51, 72, True, False)


def test_a_capped_count_reads_plus_and_offers_next_within_the_bound():
    calls = []
    page = Page(Count(100, capped=True), PageRequest(page=3, per_page=25), _fetcher(list(range(1000)), calls))
    assert calls == [(3, 26)]  # one row more than a page, to see whether a next page exists
    assert page.items == list(range(50, 75))
    assert (page.total_label, page.pages_label, page.has_next, page.has_prev) == ("100+", "4+", True, True)


def test_a_capped_count_pages_on_past_the_bound_without_clamping():
    page = Page(Count(100, capped=True), PageRequest(page=10, per_page=25), _fetcher(list(range(1000))))
    assert page.page == 10 and page.items == list(range(225, 250))
    assert (page.first_index, page.last_index) == (226, 250)
    # Never fewer than the rows shown; pages known so far, and a "+" for those beyond.
    assert (page.total_label, page.pages_label, page.has_next) == ("250+", "11+", True)


def test_the_last_page_past_the_bound_gives_the_exact_total_and_no_next():
    page = Page(Count(100, capped=True), PageRequest(page=5, per_page=25), _fetcher(list(range(110))))
    assert page.items == list(range(100, 110))
    assert not page.capped and not page.has_next
    assert (page.total_label, page.pages_label) == ("110", "5")


def test_a_capped_page_beyond_every_row_is_empty_with_a_way_back():
    page = Page(Count(100, capped=True), PageRequest(page=50, per_page=25), _fetcher(list(range(110))))
    assert page.items == [] and page.has_prev and not page.has_next
    assert page.first_index == 0 and page.page == 50


def test_of_query_pages_a_peewee_query(in_app, world):
    from webapp.models import Load
    query = Load.select(Load.id).where(Load.company == world.company).order_by(Load.id)
    every = [load.id for load in query]
    page = Page.of_query(query, PageRequest(page=2, per_page=25))
    assert [load.id for load in page.items] == every[25:50]
    assert page.total == len(every)
