"""The options of a drop-down (webapp.filters.options): escaped, the current one selected,
whatever the choices hold."""
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
