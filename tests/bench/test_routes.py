"""The bench's route table covers the app: every GET route is a timed page or named as not one.

The bench fails on a route missing from bench/routes.py; this test fails too, so a new page
without a bench entry is caught by `make test`, not only by `make bench`.
"""
import string

import pytest

from bench import routes
from tests.bench.test_dataset import built  # noqa: F401 (the fixture: the SMALL dataset, built by the store)
from webapp import create_app


@pytest.fixture(scope="module")
def bare_app():
    """The product's app on an empty in-memory database: only its url_map is read."""
    return create_app({"TESTING": True, "SECRET_KEY": "routes", "QUEUE_URL": "immediate",
                       "DATABASE_URL": "sqlite:///:memory:"})


class _AnyValue(dict):
    """Placeholder values for a URL's shape: every {name} reads as 1."""

    def __missing__(self, key):
        return 1


def _path(url):
    return string.Formatter().vformat(url, (), _AnyValue()).split("?", 1)[0]


def test_every_get_route_is_a_timed_page_or_named_as_not_one(bare_app):
    assert routes.uncovered(bare_app) == [], (
        "GET routes missing from bench/routes.py (add each to PAGES with its URL, or to NOT_PAGES with why)")


def test_every_entry_of_the_route_table_is_a_route_of_the_app(bare_app):
    assert routes.stale(bare_app) == []


def test_no_endpoint_is_both_a_page_and_not_a_page():
    assert set(routes.PAGES) & set(routes.NOT_PAGES) == set()


@pytest.mark.parametrize("endpoint", sorted(routes.PAGES))
def test_each_page_url_reaches_the_endpoint_it_is_listed_under(bare_app, endpoint):
    adapter = bare_app.url_map.bind("bench.test")
    for page in routes.PAGES[endpoint]:
        matched, _ = adapter.match(_path(page.url), method="GET")
        assert matched == endpoint, f"{page.name}: {page.url} reaches {matched}"
        assert page.user in (routes.BILLING, routes.ADMIN, routes.SUPPORT)


@pytest.mark.parametrize("endpoint", sorted(routes.NOT_PAGES))
def test_each_route_that_is_not_a_page_says_why(endpoint):
    assert len(routes.NOT_PAGES[endpoint].split()) >= 2


def test_a_new_get_route_is_reported_as_uncovered():
    app = create_app({"TESTING": True, "SECRET_KEY": "routes", "QUEUE_URL": "immediate",
                      "DATABASE_URL": "sqlite:///:memory:"})
    app.add_url_rule("/brand-new-page", "brand_new.index", lambda: "new")
    assert routes.uncovered(app) == [("brand_new.index", "/brand-new-page")]
    assert routes.uncovered(app, extra={"brand_new.index"}) == []


class _Recorder:
    """What routes.check needs of the bench: its app, and a place for figures."""

    def __init__(self, app):
        self.app, self.figures = app, []

    def add(self, figure):
        self.figures.append(figure)


def test_the_bench_fails_naming_a_get_route_it_does_not_time():
    app = create_app({"TESTING": True, "SECRET_KEY": "routes", "QUEUE_URL": "immediate",
                      "DATABASE_URL": "sqlite:///:memory:"})
    app.add_url_rule("/brand-new-page", "brand_new.index", lambda: "new")
    bench = _Recorder(app)
    assert routes.check(bench) is False
    assert [(f.name, f.met) for f in bench.figures] == [("GET /brand-new-page (brand_new.index)", False)]


def test_the_bench_says_so_when_every_get_route_is_named(bare_app):
    bench = _Recorder(bare_app)
    assert routes.check(bench) is True
    assert [f.met for f in bench.figures] == [True]


def test_every_page_of_the_table_is_served_with_what_it_must_show_on_a_small_dataset(request):
    """The URLs, users and checks of bench/routes.py on the SMALL dataset (built by the store, as
    make bench builds its own): each page answers 200 and shows its check, so a broken entry is
    found by make test and not at the end of a bench run."""
    from bench.app import make_app
    from bench.dataset import PASSWORD
    from webapp.database import connection

    _place, facts, url = request.getfixturevalue("built")
    app = make_app(url)
    with app.app_context(), connection():
        values = routes.places(facts)
        signed_in = routes.sessions(app, facts, PASSWORD)
    refused = []
    for endpoint, page in routes.requests():
        name, page_url, check, headers = routes.request_of(page, values)
        response = signed_in[page.user].get(page_url, headers)
        text = response.get_data(as_text=True)
        if response.status_code != 200 or (check and check not in text):
            refused.append(f"{endpoint} {page_url}: HTTP {response.status_code}"
                           + (f", without {check!r}" if check and check not in text else ""))
    assert refused == []
