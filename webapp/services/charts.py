"""Charts drawn on the server as SVG: the geometry of a bar chart, in plain numbers, for
templates/main/_chart.html to draw (a title, a text description and the numbers as a table go
with every chart, so it reads without JavaScript and with a screen reader)."""
import dataclasses

WIDTH, HEIGHT = 560, 220
LEFT, RIGHT, TOP, BOTTOM = 8, 8, 18, 42


@dataclasses.dataclass
class Bar:
    label: str
    value: int
    text: str  # the value as shown (money, days)
    link: object = None  # where the bar leads: an object with endpoint and args (url_for)
    x: float = 0
    y: float = 0
    width: float = 0
    height: float = 0


@dataclasses.dataclass
class BarChart:
    id: str
    title: str
    description: str
    bars: list
    value_heading: str
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = 0
    link: tuple = None  # (endpoint, args) of the list behind the chart
    link_text: str = ""

    @property
    def empty(self):
        return not any(b.value for b in self.bars)


def bar_chart(id, title, description, items, value_heading="Amount", link=None, link_text="Open the list"):
    """A vertical bar chart of ITEMS: (label, value, text, link) each; bars scaled to the largest."""
    bars = [Bar(*item) for item in items]
    top = max([b.value for b in bars if b.value > 0] or [1])
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(1, len(bars))
    for n, bar in enumerate(bars):
        bar.width = round(slot * 0.7, 1)
        bar.x = round(LEFT + n * slot + slot * 0.15, 1)
        bar.height = round(plot_h * max(0, bar.value) / top, 1)
        bar.y = round(TOP + plot_h - bar.height, 1)
    return BarChart(id, title, description, bars, value_heading, baseline=TOP + plot_h, link=link,
                    link_text=link_text)
