"""Template filters and globals: money, dates and times in local time, percentages, labels,
the company in view."""
import functools

from flask import g
from flask import has_request_context
from flask import request
from flask import url_for as flask_url_for
from flask_login import current_user
from jinja2.filters import do_urlencode
from markupsafe import Markup
from markupsafe import escape

from webapp import models
from webapp.permissions import accessible_companies
from webapp.permissions import current_company
from webapp.services import local_time
from webapp.services.factors import percent
from webapp.services.money import format_money


def viewer_zone():
    """The time zone of the person looking: his own choice, else his company's (once a request)."""
    if "viewer_zone" not in g:
        user = current_user if current_user and current_user.is_authenticated else None
        company = current_company() if user is not None else None
        g.viewer_zone = local_time.zone_name(company=company, user=user)
    return g.viewer_zone


def date(value):
    """A date as 11/16/2026, blank for None (one format on every screen)."""
    return local_time.format_date(value)


def datetime_(value):
    """A UTC moment as 11/16/2026 10:42 AM CST, in the viewer's time zone."""
    return local_time.format_datetime(value, viewer_zone())


def _escaped(texts):
    """TEXTS (strings or numbers) HTML-escaped, in one pass over them joined by NULs (one by one
    when a text holds a NUL itself): a page of hundreds of cells escaped a cell at a time cost
    more than the rest of it."""
    texts = [str(t) for t in texts]
    raw = "\0".join(texts)
    if texts and raw.count("\0") == len(texts) - 1:
        return str(escape(raw)).split("\0")
    return [str(escape(t)) for t in texts]


def options(choices, current):
    """The <option> elements of CHOICES ((value, text) pairs or rows with id and name), the one
    whose value is CURRENT (a string) selected: written here rather than in a template loop,
    since a drop-down of every customer is hundreds of options on many pages. Choices that are
    tuples (plain rows, pairs) are written once for the same rows (a page's drop-downs repeat
    from one request to the next); others, model instances, every time."""
    choices = tuple(choices)
    if all(isinstance(choice, tuple) for choice in choices):
        written = _options(choices)
    else:
        written = _write_options(choices)
    if current:
        key = f'<option value="{escape(current)}">'
        written = written.replace(key, key[:-1] + " selected>", 1)
    return Markup(written)


def _write_options(choices):
    pairs = [(str(choice.id), choice.name) if hasattr(choice, "id") else (str(choice[0]), choice[1])
             for choice in choices]
    flat = _escaped(part for pair in pairs for part in pair)
    return "".join(f'<option value="{flat[2 * i]}">{flat[2 * i + 1]}</option>' for i in range(len(pairs)))


_options = functools.lru_cache(maxsize=256)(_write_options)


# A form field's parts (templates/_forms.html): written here, not as macros, since six macro calls a
# field were most of a list page's filter bar. ID, LABEL, HINT and ERR are escaped as the template would.

def field_class(base, class_, err):
    """The class of a field's box: BASE, CLASS_ and has-error when it has an error."""
    return " ".join(part for part in (base, class_, "has-error" if err else "") if part)


def field_label(id_, label, required):
    """The field's <label>, with the required mark."""
    mark = '<span class="req" aria-hidden="true"> *</span>' if required else ""
    return Markup(f'<label for="{escape(id_)}">{escape(label)}{mark}</label>')


def field_described(id_, err, hint):
    """The control's aria attributes: invalid and pointing at its error, or pointing at its hint."""
    if err:
        return Markup(f' aria-invalid="true" aria-describedby="{escape(id_)}-error"')
    return Markup(f' aria-describedby="{escape(id_)}-hint"') if hint else ""


def field_notes(id_, err, hint):
    """The field's hint and error paragraphs (the ids field_described points at)."""
    out = ""
    if hint:
        out += f'\n    <p class="hint" id="{escape(id_)}-hint">{escape(hint)}</p>'
    if err:
        out += f'\n    <p class="field-error" id="{escape(id_)}-error">{escape(err)}</p>'
    return Markup(out)


def field_attrs(attrs):
    """ATTRS as the control's further attributes: True a bare attribute, None and False none,
    data_x as data-x."""
    return Markup("".join(f' {escape(key.replace("_", "-"))}' + ("" if value is True else f'="{escape(value)}"')
                          for key, value in attrs.items() if value is not None and value is not False))


def select(name, label, choices, values, errors, required=False, hint="", blank=None, error_key=None, **attrs):
    """A labelled <select> of CHOICES (as options() takes them) with its hint and error, the
    option of VALUES[NAME] selected and an optional first BLANK option: the field of
    templates/_forms.html written in one call (a list's filter bar has five). "id" and "class"
    come as keyword arguments, as in the template's other fields; the rest become attributes of
    the control (field_attrs)."""
    fid = attrs.pop("id", None) or "f-" + name
    class_ = attrs.pop("class", "")
    err = errors.get(error_key or name)
    raw = values.get(name)
    blank_option = "" if blank is None else f'\n      <option value="">{escape(blank)}</option>'
    return Markup(
        f'<div class="{escape(field_class("field", class_, err))}">\n    {field_label(fid, label, required)}\n'
        f'    <select id="{escape(fid)}" name="{escape(name)}"{" required" if required else ""}'
        f'{field_described(fid, err, hint)}{field_attrs(attrs)}>{blank_option}\n'
        f'      {options(choices, "" if raw is None else str(raw))}\n    </select>{field_notes(fid, err, hint)}\n  </div>')


def load_rows(rows, load_href, batch_href):
    """The <tr> of each row of the Loads list (services/loads/listing.LoadRow), written here: at
    200 rows a page the template's dozen expressions a row were most of the page's cost. LOAD_HREF
    and BATCH_HREF are the detail pages' URLs without their id."""
    statuses, methods = models.BILLING_STATUSES, models.INVOICING_METHODS
    texts = []
    for r in rows:
        city, state = r.delivery_city, r.delivery_state
        texts += [r.load_number, r.invoice_number or "—", r.subsidiary_name, r.customer_name,
                  f"{city}, {state}" if city and state else (city or state or ""),
                  methods.get(r.invoicing_method, r.invoicing_method), r.billing_status,
                  statuses.get(r.billing_status, r.billing_status), r.status_reason or ""]
    texts = _escaped(texts)
    out = []
    for i, r in enumerate(rows):
        number, invoice, subsidiary, customer, place, method, status, status_label, reason = texts[9 * i:9 * i + 9]
        held = f' <span class="badge status-financed" title="{reason}">Held</span>' if r.factor_hold else ""
        batch = (f'<a href="{batch_href}{r.batch_id}" hx-boost="false">#{r.batch_number}</a>' if r.batch_id
                 else '<span class="muted">—</span>')
        out.append(
            f'<tr><td class="nowrap"><a href="{load_href}{r.id}" hx-boost="false">{number}</a></td>'
            f'<td class="nowrap">{invoice}</td><td>{subsidiary}</td><td>{customer}</td>'
            f'<td class="nowrap">{place}\n<span class="cell-sub">{date(r.delivery_date) or "no date"}</span></td>'
            f'<td class="num">{format_money(r.total_cents)}</td><td>{method}</td>'
            f'<td><span class="badge status-{status}">{status_label}</span>{held}</td>'
            f'<td class="nowrap">{batch}</td></tr>\n')
    return Markup("".join(out))


# A list's header cells and pager, written here rather than as macros: a list page called a
# dozen of them (a macro call costs more than the cell it writes), and each one read the query.

def header_cells(columns, sort=None, desc=False):
    """The <th> of each of COLUMNS: a label, or (label, sort key, class). With a sort key the
    header sorts the list (sort_header); the class "sr-only" keeps the label for screen readers
    only; an empty label is read as "Actions". Written once for the same columns, sort and query
    string (a list's headers are the same from one request to the next)."""
    columns = tuple(col if isinstance(col, str) else tuple(col) for col in columns)
    return _header_cells(columns, sort, bool(desc), tuple(request.args.to_dict().items()))


@functools.lru_cache(maxsize=256)
def _header_cells(columns, sort, desc, args):
    args = dict(args)
    cells = []
    for col in columns:
        label, key, class_ = (([col] if isinstance(col, str) else list(col)) + ["", ""])[:3]
        if key:
            cells.append(_sort_cell(label, key, sort, desc, class_, args))
        elif class_ == "sr-only":
            cells.append(f'<th><span class="sr-only">{escape(label)}</span></th>')
        else:
            attr = f' class="{escape(class_)}"' if class_ else ""
            cells.append(f'<th{attr}>{escape(label) if label else _ACTIONS}</th>')
    return Markup("\n        ".join(cells))


_ACTIONS = '<span class="sr-only">Actions</span>'   # a column of buttons still has a header to say


def sort_header(label, key, sort, desc, **attrs):
    """The <th> sorting the list by KEY (ascending, or descending when it is so sorted already),
    marked as the sort in force when SORT is KEY; attrs: class."""
    return Markup(_sort_cell(label, key, sort, desc, attrs.get("class", ""), request.args.to_dict()))


def _sort_cell(label, key, sort, desc, class_, args):
    here = sort == key
    query = dict(args, sort=key, dir="asc" if here and desc else ("desc" if here else "asc"), page=1)
    aria = f' aria-sort="{"descending" if desc else "ascending"}"' if here else ""
    mark = (" ▼" if desc else " ▲") if here else ""
    return (f'<th class="{escape(class_)}"{aria}>\n    <a href="?{escape(do_urlencode(query))}">{escape(label)}{mark}</a>'
            "\n  </th>")


def pager(page):
    """The pager of a services.paging.Page: "1–50 of 10,000+", "Page 3 of 400+" when the count is
    capped (no last page to jump to then), Previous and Next while there are pages either side."""
    args = request.args.to_dict()

    def link(number, rel, text):
        args["page"] = number
        return f'<a class="btn btn-small" href="?{escape(do_urlencode(args))}" rel="{rel}">{text}</a>'

    previous = link(page.page - 1, "prev", "← Previous") if page.has_prev else ""
    following = link(page.page + 1, "next", "Next →") if page.has_next else ""
    return Markup(
        f'<nav class="pager" aria-label="Pages">\n    <span class="muted">{escape(page.first_index)}–'
        f'{escape(page.last_index)} of {escape(page.total_label)}</span>\n    <span class="actions">\n      '
        f'{previous}\n      <span>Page {escape(page.page)} of {escape(page.pages_label)}</span>\n      '
        f'{following}\n    </span>\n  </nav>')


def cached_url_for(max_urls=4096):
    """flask.url_for for one app's templates, each URL built once for the prefix the app is served
    under: a page's frame alone links to twenty pages, the same on every request. Anchors,
    external and relative endpoints, and values other than text and numbers are built every time."""
    urls = {}

    def url_for(endpoint, **values):
        if not has_request_context() or endpoint[:1] == "." or any(key[:1] == "_" for key in values) or not all(
                value is None or value.__class__ in (str, int) for value in values.values()):
            return flask_url_for(endpoint, **values)
        key = (request.script_root, endpoint, *sorted(values.items(), key=_first))
        url = urls.get(key)
        if url is None:
            if len(urls) >= max_urls:
                urls.clear()
            url = urls[key] = flask_url_for(endpoint, **values)
        return url

    return url_for


def _first(item):
    return item[0]


def init_app(app):
    """Register the filters and the context every page needs."""
    app.jinja_env.filters["money"] = format_money
    app.jinja_env.filters["date"] = date
    app.jinja_env.filters["datetime"] = datetime_
    app.jinja_env.filters["options"] = options
    app.jinja_env.globals["load_rows"] = load_rows
    app.jinja_env.globals["url_for"] = cached_url_for()
    for helper in (field_class, field_label, field_described, field_notes, field_attrs, select, header_cells,
                   sort_header, pager):
        app.jinja_env.globals[helper.__name__] = helper
    app.jinja_env.filters["percent"] = percent  # basis points as 97.50 %

    @app.context_processor
    def _context():
        ctx = {"m": models, "date_hint": local_time.DATE_HINT}
        if current_user.is_authenticated:
            ctx["company"] = current_company()
            if current_user.role in (models.ROLE_SUPPORT, models.ROLE_PARTNER_ADMIN):
                ctx["switchable_companies"] = list(accessible_companies(current_user))
        return ctx
