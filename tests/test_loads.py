"""Loads: the list (filters, sorting, pages, bounded queries), the load page, create and edit."""
import datetime
import logging
import re

import pytest

from webapp.models import BILLING_STATUSES
from webapp.models import COMPLETED
from webapp.models import DIRECT
from webapp.models import FACTORING
from webapp.models import FINANCED
from webapp.models import INVOICED
from webapp.models import QUEUED
from webapp.models import AuditLog
from webapp.models import Batch
from webapp.models import Company
from webapp.models import Customer
from webapp.models import Load
from webapp.models import LoadLine
from webapp.models import Payment
from webapp.models import ReportUpload
from webapp.models import StoredFile
from webapp.models import Subsidiary
from webapp.models import User
from webapp.services import audit
from webapp.services import loads as service
from webapp.services.loads import listing as load_listing
from webapp.services.validation import Invalid


def _demo(name="Demo Trucking"):
    return Company.get(Company.name == name)


def _sub(company, name="Demo Freight LLC"):
    return Subsidiary.get((Subsidiary.company == company) & (Subsidiary.name == name))


def _customer(company, name="Summit Freight Brokerage"):
    return Customer.get((Customer.company == company) & (Customer.name == name))


def _load_numbers(html):
    """Load numbers of the list's rows, in order."""
    return re.findall(r'<a href="/loads/\d+" hx-boost="false">([^<]+)</a>', html)


def _form(company, **overrides):
    form = {
        "subsidiary_id": str(_sub(company).id), "customer_id": str(_customer(company).id),
        "load_number": "NEW-1", "invoice_number": "INV-NEW-1", "invoice_date": "2026-11-25",
        "customer_reference": "PO-1", "pickup_city": "Dallas", "pickup_state": "tx",
        "pickup_date": "2026-11-22", "delivery_city": "Memphis", "delivery_state": "TN",
        "delivery_date": "2026-11-24", "invoicing_method": "",
    }
    form.update(overrides)
    return form


def _post_form(form, lines):
    """The form as the browser posts it: the line rows as parallel lists."""
    data = dict(form)
    data["line_kind"] = [k for k, _, _ in lines]
    data["line_description"] = [d for _, d, _ in lines]
    data["line_amount"] = [a for _, _, a in lines]
    return data


LINES = [("linehaul", "Linehaul", "$2,450.00"), ("fuel", "", "367.50"), ("accessorial", "", "")]


# --- the list ---------------------------------------------------------------------------

def test_list_shows_columns_of_the_company_in_view(client, auth):
    auth.login("dispatch")
    html = client.get("/loads/?per_page=200").get_data(as_text=True)
    assert "DT-1001" in html and "INV-DT-5001" in html
    assert "Demo Freight LLC" in html and "Summit Freight Brokerage" in html
    assert re.search(r"\$\d{1,3},\d{3}\.\d{2}", html)
    assert 'class="badge status-queued"' in html
    assert "OC-1001" not in html  # another tenant's load


def test_home_status_link_filters_queued(client, auth, dbconn):
    auth.login("admin")
    html = client.get("/loads/?status=queued&per_page=200").get_data(as_text=True)
    numbers = _load_numbers(html)
    expected = Load.select().where((Load.company == _demo()) & (Load.billing_status == QUEUED)).count()
    assert len(numbers) == expected > 0
    tbody = html.split("<tbody>")[1]
    assert "status-invoiced" not in tbody and "status-completed" not in tbody


@pytest.mark.parametrize("args, check", [
    ("subsidiary={sub}", lambda l: l.subsidiary.name == "Demo Logistics Inc"),
    ("customer={customer}", lambda l: l.customer.name == "Blue Ridge Logistics"),
    ("method=direct", lambda l: l.invoicing_method == DIRECT),
    ("status=financed", lambda l: l.billing_status == FINANCED),
    ("q=dt-102", lambda l: "DT-102" in l.load_number),
    ("q=INV-DT-5003", lambda l: l.invoice_number == "INV-DT-5003"),
    ("q=inv-dt-5003", lambda l: l.invoice_number == "INV-DT-5003"),
    ("q=5003", lambda l: "5003" in l.invoice_number or "5003" in l.load_number),
    ("status=queued&method=factoring&subsidiary={sub}",
     lambda l: (l.billing_status, l.invoicing_method, l.subsidiary.name)
     == (QUEUED, FACTORING, "Demo Logistics Inc")),
])
def test_list_filters(client, auth, dbconn, args, check):
    demo = _demo()
    args = args.format(sub=_sub(demo, "Demo Logistics Inc").id,
                       customer=_customer(demo, "Blue Ridge Logistics").id)
    # The demo's past batches are not in the test data: give two loads a later status.
    Load.update(billing_status=FINANCED).where(
        (Load.company == demo) & Load.load_number.in_(["DT-1003", "DT-1013"])).execute()
    auth.login("admin")
    numbers = _load_numbers(client.get(f"/loads/?per_page=200&{args}").get_data(as_text=True))
    everything = list(Load.select().where(Load.company == demo))
    expected = sorted(l.load_number for l in everything if check(l))
    assert expected, "the demo data should hold loads for this filter"
    assert sorted(numbers) == expected


def test_search_matching_very_many_loads_still_filters(client, auth, dbconn, monkeypatch):
    monkeypatch.setattr(load_listing, "SEARCH_IDS", 5)
    auth.login("admin")
    numbers = _load_numbers(client.get("/loads/?per_page=200&q=dt-10").get_data(as_text=True))
    assert len(numbers) == 72 and all(n.startswith("DT-10") for n in numbers)


def test_filter_by_another_tenants_subsidiary_shows_nothing(client, auth, dbconn):
    other_sub = Subsidiary.get(Subsidiary.name == "Other Carrier Transport")
    auth.login("admin")
    html = client.get(f"/loads/?subsidiary={other_sub.id}").get_data(as_text=True)
    assert _load_numbers(html) == []
    assert "No loads match these filters" in html


@pytest.mark.parametrize("sort, key", [
    ("total", lambda l: (l.total_cents, l.id)),
    ("load", lambda l: (l.load_number, l.id)),
    ("delivery", lambda l: (l.delivery_date, l.id)),
    ("customer", lambda l: (l.customer.name, l.id)),
    ("status", lambda l: (list(BILLING_STATUSES).index(l.billing_status), l.id)),
])
@pytest.mark.parametrize("direction", ["asc", "desc"])
def test_list_sorts(client, auth, dbconn, sort, key, direction):
    auth.login("admin")
    html = client.get(f"/loads/?sort={sort}&dir={direction}&per_page=200").get_data(as_text=True)
    loads = {l.load_number: l for l in Load.select().where(Load.company == _demo())}
    shown = [loads[n] for n in _load_numbers(html)]
    values = [key(l)[0] for l in shown]
    assert values == sorted(values, reverse=(direction == "desc"))
    assert 'aria-sort="{}"'.format("descending" if direction == "desc" else "ascending") in html


@pytest.mark.parametrize("direction", ["asc", "desc"])
@pytest.mark.parametrize("extra", ["", "&status=queued"])
def test_customer_sort_pages_join_up_in_name_order(client, auth, dbconn, direction, extra):
    auth.login("admin")
    shown, number, more = [], 1, True
    while more:
        html = client.get(f"/loads/?sort=customer&dir={direction}&per_page=25&page={number}{extra}"
                          ).get_data(as_text=True)
        shown += _load_numbers(html)
        number, more = number + 1, 'rel="next"' in html
    query = Load.select().where(Load.company == _demo())
    if extra:
        query = query.where(Load.billing_status == QUEUED)
    loads = list(query)
    by_name = sorted(loads, key=lambda l: -l.id)
    by_name.sort(key=lambda l: l.customer.name, reverse=(direction == "desc"))
    assert shown == [l.load_number for l in by_name]
    assert number > 2


def test_list_paginates(client, auth):
    auth.login("admin")
    first = _load_numbers(client.get("/loads/?per_page=25").get_data(as_text=True))
    second_html = client.get("/loads/?per_page=25&page=2").get_data(as_text=True)
    second = _load_numbers(second_html)
    assert len(first) == len(second) == 25
    assert not set(first) & set(second)
    assert "26–50 of 72" in second_html


def test_list_for_htmx_is_the_table_fragment(client, auth):
    auth.login("admin")
    response = client.get("/loads/?status=queued", headers={"HX-Request": "true"})
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and 'id="loads-filters"' not in html
    assert "<table" in html and _load_numbers(html)
    assert "HX-Request" in response.headers.get("Vary", "")
    whole = client.get("/loads/?status=queued").get_data(as_text=True)
    assert '<form id="loads-filters"' in whole and 'hx-push-url="true"' in whole


def test_history_restore_gets_the_whole_page(client, auth):
    auth.login("admin")
    html = client.get("/loads/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
                      ).get_data(as_text=True)
    assert "<html" in html


class _QueryCounter(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.count = 0

    def emit(self, record):
        self.count += 1


def _count_queries(client, url):
    logger = logging.getLogger("peewee")
    counter = _QueryCounter()
    level = logger.level
    logger.addHandler(counter)
    logger.setLevel(logging.DEBUG)
    try:
        response = client.get(url)
    finally:
        logger.removeHandler(counter)
        logger.setLevel(level)
    assert response.status_code == 200
    return counter.count, response.get_data(as_text=True)


def test_list_runs_the_same_few_queries_whatever_the_page_size(client, auth, dbconn):
    demo = _demo()
    sub, customer = _sub(demo), _customer(demo)
    batch = Batch.create(company=demo, subsidiary=sub, number=900, load_count=0)
    Load.insert_many([
        {"company": demo.id, "subsidiary": sub.id, "customer": customer.id,
         "load_number": f"BULK-{n:04d}", "invoice_number": f"INV-BULK-{n:04d}",
         "total_cents": 1000_00 + n, "billing_status": INVOICED if n % 2 else QUEUED,
         "batch": batch.id if n % 2 else None}
        for n in range(250)]).execute()
    auth.login("admin")
    client.get("/loads/")  # warm the session and the company lookups
    small, small_html = _count_queries(client, "/loads/?per_page=25&sort=customer")
    large, large_html = _count_queries(client, "/loads/?per_page=200&sort=customer")
    assert len(_load_numbers(small_html)) == 25 and len(_load_numbers(large_html)) == 200
    assert "#900" in large_html
    assert small == large <= 8


def test_other_tenant_never_sees_demo_loads(client, auth):
    auth.login("other")
    html = client.get("/loads/?per_page=200&q=DT").get_data(as_text=True)
    assert _load_numbers(html) == []


# --- the load page ----------------------------------------------------------------------

def test_detail_shows_every_field_lines_and_history(client, auth, dbconn):
    auth.login("admin")
    response = client.post("/loads/new", data=_post_form(_form(_demo()), LINES))
    assert response.status_code == 303
    html = client.get(response.headers["Location"]).get_data(as_text=True)
    for text in ("NEW-1", "INV-NEW-1", "2026-11-25", "PO-1", "Dallas, TX", "2026-11-22",
                 "Memphis, TN", "2026-11-24", "Demo Freight LLC", "Summit Freight Brokerage",
                 "MC-482913", "Factoring", "Linehaul", "Fuel surcharge", "$2,450.00", "$367.50",
                 "$2,817.50", "Status history", "Entered by hand"):
        assert text in html, text


def test_detail_of_another_tenants_load_is_404(client, auth, dbconn):
    other_load = Load.get(Load.load_number == "OC-1001")
    auth.login("admin")
    assert client.get(f"/loads/{other_load.id}").status_code == 404
    assert client.get(f"/loads/{other_load.id}/edit").status_code == 404


def test_detail_shows_batch_factoring_figures_payments_and_status_causes(client, auth, dbconn):
    demo = _demo()
    load = Load.get(Load.load_number == "DT-1001")
    admin = User.get(User.email == "admin@demo.test")
    batch = Batch.create(company=demo, subsidiary=load.subsidiary_id, number=77, load_count=1)
    file = StoredFile.create(company=demo, filename="Purchase_Report.csv", sha256="x", data=b"x")
    upload = ReportUpload.create(company=demo, batch=batch, kind="purchase", file=file,
                                 filename="Purchase_Report.csv", sha256="x")
    Load.update(batch=batch, billing_status=FINANCED, purchase_date=datetime.date(2026, 11, 26),
                advance_cents=2000_00, fee_cents=60_00, reserve_cents=0, factor_reference="CD-555",
                paid_cents=1500_00, short_pay_cents=12_50).where(Load.id == load.id).execute()
    Payment.create(company=demo, load=load, payment_date=datetime.date(2026, 12, 20),
                   amount_cents=1500_00, reference="CHK-4411", method="Check", final=False)
    AuditLog.insert_many(audit.status_change_rows([(demo.id, load.id)], QUEUED, INVOICED,
                                                  actor=admin.id, batch=batch.id)).execute()
    AuditLog.insert_many(audit.status_change_rows([(demo.id, load.id)], INVOICED, FINANCED,
                                                  actor=admin.id, batch=batch.id, upload=upload.id,
                                                  rows={load.id: 4})).execute()
    AuditLog.insert_many(audit.status_change_rows([(demo.id, load.id)], FINANCED, QUEUED,
                                                  actor=admin.id, details={"reason": "Debtor over limit"})
                         ).execute()
    auth.login("billing")
    html = client.get(f"/loads/{load.id}").get_data(as_text=True)
    assert "Set by hand · Debtor over limit" in html
    assert f'href="/reports/factoring/batches/{batch.id}"' in html
    for text in ("Batch 77", "2026-11-26", "$2,000.00", "$60.00", "CD-555", "$1,500.00", "$12.50",
                 "CHK-4411", "Check", "No (partial)", "Purchase Report Purchase_Report.csv, row 4",
                 "Avery Admin"):
        assert text in html, text
    assert "Locked" in html and f"/loads/{load.id}/edit" not in html


# --- create and edit --------------------------------------------------------------------

def test_dispatch_creates_a_load_total_from_lines_and_audited(client, auth, dbconn):
    auth.login("dispatch")
    response = client.post("/loads/new", data=_post_form(_form(_demo()), LINES))
    assert response.status_code == 303
    load = Load.get(Load.load_number == "NEW-1")
    assert load.total_cents == 2817_50
    assert load.billing_status == QUEUED and load.invoicing_method == FACTORING
    assert load.pickup_state == "TX"
    assert [(x.kind, x.description, x.amount_cents) for x in service.lines_of(load)] == [
        ("linehaul", "Linehaul", 2450_00), ("fuel", "Fuel surcharge", 367_50)]
    entry = AuditLog.get((AuditLog.object_type == "load") & (AuditLog.object_id == load.id))
    assert entry.action == "load.create" and entry.actor.email == "dispatch@demo.test"


def test_invoicing_method_defaults_from_the_customer(client, auth, dbconn):
    demo = _demo()
    direct = _customer(demo, "Midwest Grain Cooperative")
    auth.login("admin")
    client.post("/loads/new", data=_post_form(_form(demo, customer_id=str(direct.id)), LINES))
    assert Load.get(Load.load_number == "NEW-1").invoicing_method == DIRECT
    client.post("/loads/new", data=_post_form(
        _form(demo, customer_id=str(direct.id), load_number="NEW-2", invoice_number="",
              invoicing_method="factoring"), LINES))
    created = Load.get(Load.load_number == "NEW-2")
    assert created.invoicing_method == FACTORING and created.invoice_number is None


@pytest.mark.parametrize("overrides, lines, field, message", [
    ({"load_number": "DT-1001"}, LINES, "load_number", "Load DT-1001 already exists."),
    ({"invoice_number": "INV-DT-5001"}, LINES, "invoice_number", "already used by another load"),
    ({"load_number": " "}, LINES, "load_number", "Enter the load number."),
    ({"customer_id": ""}, LINES, "customer", "Choose the customer"),
    ({"subsidiary_id": "999999"}, LINES, "subsidiary", "Choose the subsidiary"),
    ({"pickup_state": "Texas"}, LINES, "pickup_state", "not a two-letter state code"),
    ({"invoice_date": "2026-13-45"}, LINES, "invoice_date", "is not a date"),
    ({"delivery_date": "2026-11-01"}, LINES, "delivery_date", "before the pickup date"),
    ({"invoicing_method": "barter"}, LINES, "invoicing_method", "not an invoicing method"),
    ({}, [("linehaul", "", "")], "lines", "at least one line item"),
    ({}, [("linehaul", "", "12.x")], "lines", "line 1: '12.x' is not an amount"),
    ({}, [("linehaul", "", "100"), ("accessorial", "Credit", "(12.50)")], "lines",
     "line 2: '(12.50)' is negative"),
    ({}, [("linehaul", "Linehaul", "0")], "lines", "line 1: enter an amount above zero"),
])
def test_create_refuses_bad_input_with_a_message(client, auth, dbconn, overrides, lines, field,
                                                 message):
    before = Load.select().count()
    with pytest.raises(Invalid) as caught:
        service.create_load(_demo(), None, _form(_demo(), **overrides), lines)
    assert message in caught.value.errors[field]
    auth.login("admin")
    response = client.post("/loads/new", data=_post_form(_form(_demo(), **overrides), lines))
    assert response.status_code == 422
    assert message.replace("'", "&#39;") in response.get_data(as_text=True)
    assert Load.select().count() == before


def test_create_refuses_another_tenants_customer(client, auth, dbconn):
    foreign = Customer.get(Customer.name == "Prairie Wind Brokers")
    auth.login("admin")
    response = client.post("/loads/new", data=_post_form(_form(_demo(), customer_id=str(foreign.id)),
                                                         LINES))
    assert response.status_code == 422
    assert not Load.select().where(Load.load_number == "NEW-1").exists()


def test_form_without_js_has_blank_line_rows_and_add_line_button(client, auth):
    auth.login("dispatch")
    html = client.get("/loads/new").get_data(as_text=True)
    assert html.count('name="line_amount"') == 3
    assert 'hx-get="/loads/line-row"' in html
    row = client.get("/loads/line-row", headers={"HX-Request": "true"}).get_data(as_text=True)
    assert row.strip().startswith("<tr") and 'name="line_amount"' in row


def test_edit_queued_load_saves_and_audits_before_after(client, auth, dbconn):
    load = Load.get(Load.load_number == "DT-1001")
    assert load.billing_status == QUEUED
    auth.login("dispatch")
    form = client.get(f"/loads/{load.id}/edit").get_data(as_text=True)
    assert 'value="DT-1001"' in form
    data = service.blank_form(load)
    data.update(customer_reference="PO-CHANGED", delivery_state="KY")
    response = client.post(f"/loads/{load.id}/edit", data=_post_form(
        data, [("linehaul", "Linehaul", "1000.00"), ("accessorial", "Lumper", "85")]))
    assert response.status_code == 303
    fresh = Load.get_by_id(load.id)
    assert (fresh.customer_reference, fresh.delivery_state, fresh.total_cents) == ("PO-CHANGED", "KY", 1085_00)
    assert LoadLine.select().where(LoadLine.load == load.id).count() == 2
    entry = (AuditLog.select().where((AuditLog.object_id == load.id) & (AuditLog.action == "load.update"))
             .get())
    assert '"customer_reference": "PO-CHANGED"' in entry.after
    assert "customer_reference" in entry.before and "total_cents" in entry.before
    html = client.get(f"/loads/{load.id}").get_data(as_text=True)
    assert "Edited" in html and "Dana Dispatch" in html and "PO-CHANGED" in html


@pytest.mark.parametrize("status", [INVOICED, FINANCED, COMPLETED])
def test_edit_is_locked_past_queued(client, auth, dbconn, status):
    load = Load.get(Load.load_number == "DT-1002")
    Load.update(billing_status=status).where(Load.id == load.id).execute()
    auth.login("admin")
    response = client.get(f"/loads/{load.id}/edit", follow_redirects=True)
    assert "only Queued loads can be edited" in response.get_data(as_text=True)
    data = service.blank_form(Load.get_by_id(load.id))
    data["customer_reference"] = "SNEAKY"
    response = client.post(f"/loads/{load.id}/edit", data=_post_form(data, LINES))
    assert response.status_code == 303
    assert Load.get_by_id(load.id).customer_reference != "SNEAKY"


def test_edit_of_a_load_in_a_batch_is_locked(dbconn):
    load = Load.get(Load.load_number == "DT-1002")
    batch = Batch.create(company=load.company_id, subsidiary=load.subsidiary_id, number=901)
    Load.update(batch=batch).where(Load.id == load.id).execute()
    with pytest.raises(service.LoadLocked, match="in a batch"):
        service.update_load(Load.get_by_id(load.id), None, service.blank_form(load), LINES)


def test_edit_that_loses_the_race_changes_nothing(dbconn):
    load = Load.get(Load.load_number == "DT-1002")
    stale = Load.get_by_id(load.id)  # read while Queued ...
    Load.update(billing_status=INVOICED).where(Load.id == load.id).execute()  # ... then submitted
    data = service.blank_form(stale)
    data["customer_reference"] = "TOO-LATE"
    with pytest.raises(service.LoadLocked, match="moved on by someone else"):
        service.update_load(stale, None, data, LINES)
    assert Load.get_by_id(load.id).customer_reference != "TOO-LATE"
    assert LoadLine.select().where(LoadLine.load == load.id).count() == len(service.lines_of(stale))


def test_a_factor_hold_reads_as_held_in_the_history(client, auth, dbconn):
    demo = _demo()
    load = Load.get((Load.company == demo) & (Load.load_number == "DT-1002"))
    audit.record("load.hold", "load", load.id, company=demo, before=INVOICED, after=INVOICED,
                 details={"reason": "Debtor over its credit limit"})
    auth.login("admin")
    page = client.get(f"/loads/{load.id}").get_data(as_text=True)
    history = page[page.index('id="history"'):]
    assert "Held by the factor" in history
    assert "→" not in history.split("Held by the factor", 1)[1].split("</tr>", 1)[0]
