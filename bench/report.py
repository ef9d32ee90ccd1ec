"""python -m bench.report: the README's Performance section, from bench/results.json."""
import json
import sys
import textwrap

from bench.run import RESULTS
from bench.stats import Figure
from bench.stats import table


def section(results):
    """Markdown: how the figures were made, on what, and the table."""
    m = results["machine"]
    d = results["dataset"]
    figures = [Figure(**{k: v for k, v in f.items() if k in Figure.__dataclass_fields__})
               for f in results["figures"]]
    counts = d["counts"]
    command = results["command"]
    if m.get("niceness"):
        command = f"nice -n {m['niceness']} {command}"
    intro = (
        f"Measured with `{command}` on {m['date']}: {m['nproc']} cores ({m['cpu']}), "
        f"{m['memory_gb']} GB, Python {m['python']}, SQLite {m['sqlite']}, load generator "
        f"{m['load_generator'].split(' Copyright')[0]}; load average {m['load_average_at_start'][0]} "
        f"at the start, {m['load_average'][0]} at the end. Dataset: {counts['loads']:,} loads "
        f"over {counts['companies']} tenants and {counts['subsidiaries']} subsidiaries, "
        f"{counts['batches']:,} past batches, {counts['payments']:,} payments, "
        f"{counts['audit_rows']:,} audit rows (built once into `bench/data/`, reused while its "
        "schema stamp matches). Every figure stands beside a floor measured in the same run.")
    lines = [
        "## Performance",
        "",
        textwrap.fill(intro, width=92, break_on_hyphens=False),
        "",
        table(figures),
        "",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    path = sys.argv[1] if len(sys.argv) > 1 else RESULTS
    with open(path, encoding="utf-8") as fh:
        print(section(json.load(fh)))
