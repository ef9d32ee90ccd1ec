"""The home page's dashboard in Chromium: every figure and chart from the demo's recourse
history (a reserve release, a short pay, a chargeback, invoices near and past recourse), each
figure agreeing with the list it links to; the charts read without JavaScript; axe-core."""
import datetime

from playwright.sync_api import expect

from tests import helpers
from tests.browser.axe import assert_accessible
from tests.browser.conftest import sign_in
from webapp.models import Company
from webapp.models import Subsidiary
from webapp.models import User
from webapp.ops import demo


def _seed(db_url):
    """The demo's past batch to a recourse factor, on the live server's database."""
    from webapp import create_app
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "DATABASE_URL": db_url, "QUEUE_URL": "immediate"})
    with helpers.in_db(app):
        company = Company.get(Company.name == "Demo Trucking")
        freight = Subsidiary.get((Subsidiary.company == company) & (Subsidiary.name == "Demo Freight LLC"))
        demo.seed_recourse_history(company, freight, User.get(User.email == "billing@demo.test"),
                                   datetime.date.today())


def test_the_dashboard_shows_every_figure_and_each_agrees_with_its_list(db_url, page):
    _seed(db_url)
    sign_in(page, "admin@demo.test")
    page.goto("/")
    for key in ("queued", "invoiced", "financed", "completed", "charged_back", "reserve", "fees_year",
                "short_pays"):
        expect(page.get_by_test_id(f"figure-{key}")).to_be_visible()
    expect(page.get_by_test_id("figure-short_pays")).to_contain_text("$75.00")
    expect(page.get_by_test_id("nearing-recourse")).to_have_count(2)
    expect(page.get_by_text("days past its recourse deadline")).to_be_visible()
    for title in ("Money by stage", "Aging by bucket", "Days to fund, last 12 weeks", "Cash expected, next 8 weeks"):
        figure = page.get_by_role("figure", name=title)
        expect(figure.locator("svg title")).to_have_text(title)
        expect(figure.locator("table.sr-only caption")).to_contain_text(title)
    assert_accessible(page, "the dashboard")

    reserve = page.get_by_test_id("figure-reserve").locator("strong").inner_text()
    page.get_by_test_id("figure-reserve").click()
    expect(page.get_by_test_id("reserve-total")).to_have_text(reserve)
    assert_accessible(page, "Reports > Reserve")

    page.goto("/")
    short = page.get_by_test_id("figure-short_pays").locator("strong").inner_text()
    page.get_by_test_id("figure-short_pays").click()
    expect(page.get_by_test_id("statement-sum")).to_have_text(short)

    page.goto("/")
    owed = page.get_by_test_id("figure-financed").locator("strong").inner_text()
    page.get_by_test_id("figure-financed").click()
    expect(page.get_by_test_id("aging-total").first).to_have_text(owed)
    assert_accessible(page, "Reports > Aging")

    page.goto("/")
    charged = page.get_by_test_id("figure-charged_back")
    expect(charged).to_contain_text("1 invoice")
    charged.click()
    expect(page.locator("table")).to_contain_text("Charged back")


def test_the_charts_read_without_javascript(db_url, browser, live_server):
    _seed(db_url)
    context = browser.new_context(base_url=live_server.url, java_script_enabled=False)
    page = context.new_page()
    sign_in(page, "admin@demo.test")
    page.goto("/")
    figure = page.get_by_role("figure", name="Aging by bucket")
    expect(figure.locator("rect.chart-bar")).to_have_count(4)
    expect(figure.locator("p.chart-desc")).to_contain_text("31–60 days")
    context.close()
