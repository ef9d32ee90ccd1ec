"""axe-core (vendored: tests/browser/vendor/axe-<version>.min.js, MPL-2.0) run in the page.

The script is evaluated through the browser's debugging protocol, so the page's Content
Security Policy (script-src 'self') need not be loosened for it. WCAG 2.1 A and AA rules.
"""
import os

AXE = os.path.join(os.path.dirname(__file__), "vendor", "axe-4.14.1.min.js")
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
_source = []


def _script():
    if not _source:
        with open(AXE, encoding="utf-8") as fh:
            _source.append(fh.read())
    return _source[0]


def violations(page):
    """axe's violations on PAGE as it stands: ["rule: what (selector, …)", …]."""
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_script())
    found = page.evaluate("""async (tags) => {
        const result = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                                resultTypes: ["violations"]});
        return result.violations.map(v => v.id + ": " + v.help + " (" +
            v.nodes.slice(0, 5).map(n => n.target.join(" ")).join(", ") + ")");
    }""", TAGS)
    return found


def assert_accessible(page, state):
    """Fail naming STATE (the page and what is open on it) and every violation."""
    found = violations(page)
    assert not found, f"axe-core on {state} ({page.url}):\n  " + "\n  ".join(found)
