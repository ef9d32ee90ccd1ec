"""webapp.filters' writers of many cells at once: a drop-down's options (escaped, the current one
selected, whatever the choices hold), a select field, a list's header cells and the Loads list's rows."""
import collections

from webapp.filters import options

Row = collections.namedtuple("Row", "id name")


def test_rows_and_pairs_give_options_with_the_current_one_selected():
    assert str(options([Row(3, "Acme"), Row(12, "Zed")], "12")) == (
        '<option value="3">Acme</option><option value="12" selected>Zed</option>')
    assert str(options([(25, 25), ("financed", "Financed")], "25")) == (
        '<option value="25" selected>25</option><option value="financed">Financed</option>')
    assert str(options([], "")) == ""


def test_values_and_texts_are_escaped_and_compared_before_escaping():
    html = str(options([("a<b", 'Tom & "Jerry" <script>'), (1, "one")], "a<b"))
    assert html == ('<option value="a&lt;b" selected>Tom &amp; &#34;Jerry&#34; &lt;script&gt;</option>'
                    '<option value="1">one</option>')


def test_a_text_holding_a_nul_is_still_escaped_one_by_one():
    html = str(options([(1, "x\0<y"), (2, "two")], "2"))
    assert html == '<option value="1">x\0&lt;y</option><option value="2" selected>two</option>'


def test_load_rows_escape_every_text_and_say_what_the_template_said():
    import datetime

    from webapp.filters import load_rows
    from webapp.services.loads.listing import LoadRow
    held = LoadRow(id=7, load_number="L<1>", invoice_number="", delivery_city="Tulsa", delivery_state="OK",
                   delivery_date=datetime.date(2026, 11, 5), total_cents=123456, invoicing_method="factoring",
                   billing_status="invoiced", factor_hold=True, status_reason='no "POD"', batch_id=3,
                   subsidiary_name="A & B", customer_name="<script>", batch_number=12)
    plain = held._replace(id=8, delivery_city="", delivery_date=None, factor_hold=False, batch_id=None)
    html = str(load_rows([held, plain], "/loads/", "/reports/batches/"))
    assert '<a href="/loads/7" hx-boost="false">L&lt;1&gt;</a>' in html
    assert "<td>A &amp; B</td><td>&lt;script&gt;</td>" in html and "<script>" not in html
    assert 'Tulsa, OK\n<span class="cell-sub">11/05/2026</span>' in html and "$1,234.56" in html
    assert 'title="no &#34;POD&#34;">Held</span>' in html and '<a href="/reports/batches/3" hx-boost="false">#12</a>' in html
    second = html.split("</tr>")[1]
    assert '<td class="nowrap">—</td>' in second and "no date" in second and "OK\n" in second
    assert "Held" not in second and '<span class="muted">—</span>' in second


def test_load_rows_with_a_nul_in_a_text_are_escaped_one_by_one():
    import datetime

    from webapp.filters import load_rows
    from webapp.services.loads.listing import LoadRow
    row = LoadRow(id=1, load_number="L1", invoice_number="I1", delivery_city="", delivery_state="",
                  delivery_date=datetime.date(2026, 1, 2), total_cents=5, invoicing_method="direct",
                  billing_status="queued", factor_hold=False, status_reason="", batch_id=None,
                  subsidiary_name="S", customer_name="a\0<b>", batch_number=None)
    html = str(load_rows([row, row._replace(id=2, customer_name="ok")], "/loads/", "/b/"))
    assert "<td>a\0&lt;b&gt;</td>" in html and "<td>ok</td>" in html and html.count("<tr>") == 2
    assert str(load_rows([], "/loads/", "/b/")) == ""


def test_options_written_once_for_the_same_rows_still_follow_the_current_value_and_the_rows():
    rows = [(1, "Acme"), (2, "Beta & Sons")]
    first = options(rows, "1")
    second = options(rows, "2")
    assert '<option value="1" selected>Acme</option>' in first and "selected" not in first.split("Acme")[1]
    assert '<option value="2" selected>Beta &amp; Sons</option>' in second and second.count("selected") == 1
    assert "selected" not in options(rows, "")
    renamed = options([(1, "Acme Freight"), (2, "Beta & Sons")], "1")
    assert '<option value="1" selected>Acme Freight</option>' in renamed


def test_field_parts_are_escaped_and_say_what_the_form_macros_said():
    from webapp.filters import field_attrs
    from webapp.filters import field_class
    from webapp.filters import field_described
    from webapp.filters import field_label
    from webapp.filters import field_notes
    assert field_class("field", "", "Required") == "field has-error"
    assert field_class("field", "grow", None) == "field grow"
    assert field_label("f-x", "<b>", True) == ('<label for="f-x">&lt;b&gt;<span class="req" '
                                                'aria-hidden="true"> *</span></label>')
    assert field_described("f-x", "Bad", "Hint") == ' aria-invalid="true" aria-describedby="f-x-error"'
    assert field_described("f-x", None, "Hint") == ' aria-describedby="f-x-hint"'
    assert field_described("f-x", None, "") == ""
    assert field_notes("f-x", "A & B", "Type <this>") == (
        '\n    <p class="hint" id="f-x-hint">Type &lt;this&gt;</p>'
        '\n    <p class="field-error" id="f-x-error">A &amp; B</p>')
    assert field_attrs({"data_x": 'a"b', "autofocus": True, "maxlength": 0, "off": False, "none": None}) == (
        ' data-x="a&#34;b" autofocus maxlength="0"')


def test_a_select_is_its_field_with_the_current_option_chosen_and_every_text_escaped():
    from webapp.filters import select
    written = str(select("customer", "Customer <b>", [(1, "A & B"), (2, "Zed")], {"customer": 2},
                         {"customer": "Choose one"}, required=True, hint="From <the> list", blank="All <any>",
                         id="f-cust", data_x='q"', **{"class": "grow"}))
    assert written == (
        '<div class="field grow has-error">\n    <label for="f-cust">Customer &lt;b&gt;<span class="req" '
        'aria-hidden="true"> *</span></label>\n    <select id="f-cust" name="customer" required aria-invalid="true" '
        'aria-describedby="f-cust-error" data-x="q&#34;">\n      <option value="">All &lt;any&gt;</option>\n      '
        '<option value="1">A &amp; B</option><option value="2" selected>Zed</option>\n    </select>'
        '\n    <p class="hint" id="f-cust-hint">From &lt;the&gt; list</p>'
        '\n    <p class="field-error" id="f-cust-error">Choose one</p>\n  </div>')
    plain = str(select("per_page", "Per page", [(25, 25), (50, 50)], {}, {}, error_key="other"))
    assert plain.startswith('<div class="field">') and '<select id="f-per_page" name="per_page">' in plain
    assert "selected" not in plain and '<option value="">' not in plain and "aria-" not in plain


def test_a_lists_header_cells_follow_the_query_string_they_are_written_for(app):
    from webapp.filters import header_cells
    columns = [("Load", "load"), ("Total", "total", "num"), "Method"]
    with app.test_request_context("/loads/?status=queued&sort=total&dir=asc"):
        first = str(header_cells(columns, "total", False))
    with app.test_request_context("/loads/?status=financed&sort=total&dir=asc"):
        other = str(header_cells(columns, "total", False))
        descending = str(header_cells(columns, "total", True))
    assert 'href="?status=queued&amp;sort=load&amp;dir=asc&amp;page=1"' in first
    assert 'href="?status=financed&amp;sort=load&amp;dir=asc&amp;page=1"' in other
    assert '<th class="num" aria-sort="ascending">' in first and "Total ▲" in first
    assert '<th class="num" aria-sort="descending">' in descending and "Total ▼" in descending
    assert 'sort=total&amp;dir=asc' in descending and "<th>Method</th>" in first


def test_template_urls_are_flasks_for_each_prefix_the_app_is_served_under(app):
    """The templates' url_for remembers each URL it built: the same as Flask's, under a prefix
    (SCRIPT_NAME) too, and built anew for anchors, external URLs and values of other kinds."""
    import flask

    url_for = app.jinja_env.globals["url_for"]
    for prefix in ("", "/desk", "", "/other"):
        with app.test_request_context("/loads/", base_url="http://localhost" + prefix):
            assert url_for("loads.index") == flask.url_for("loads.index") == prefix + "/loads/"
            assert url_for("loads.detail", load_id=7) == prefix + "/loads/7"
            assert url_for("loads.detail", load_id=8) == prefix + "/loads/8"
            assert url_for("static", filename="css/app.css") == prefix + "/static/css/app.css"
            assert url_for("loads.index", status="financed", q=None) == prefix + "/loads/?status=financed"
            assert url_for("loads.index", _anchor="top") == prefix + "/loads/#top"
            assert url_for("loads.index", _external=True) == f"http://localhost{prefix}/loads/"
            assert url_for("loads.index", status=["a", "b"]) == prefix + "/loads/?status=a&status=b"
    app.config["SERVER_NAME"] = "desk.example"
    with app.app_context():   # no request (a mail's body): Flask's own, external
        assert url_for("loads.index", _external=True) == "http://desk.example/loads/"
