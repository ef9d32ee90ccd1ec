"""python -m bench.report: the README's Performance section, from the bench's results.

    python -m bench.report                      # bench/results.json (SQLite, 200,000 loads)
    python -m bench.report bench/results.json bench/results-sqlite-2000000.json \\
        bench/results-postgresql-200000.json bench/results-postgresql-2000000.json
                                                # one column per run, the first one's targets

Each run is a column: a page's p95 (with its CPU p95), any other figure as it was measured;
a run at a larger scale also says how many times the p95 of the smaller run of the same
database it took.
"""
import json
import os
import sys
import textwrap

from bench.run import RESULTS
from bench.stats import Figure
from bench.stats import table


def _figures(results):
    return [Figure(**{k: v for k, v in f.items() if k in Figure.__dataclass_fields__}) for f in results["figures"]]


def _label(results):
    counts = results["dataset"]["counts"]
    database = "PostgreSQL" if "postgres" in str(results["dataset"].get("database", "")).lower() else "SQLite"
    return f"{database}, {counts['loads']:,} loads"


def _intro(results):
    m, counts = results["machine"], results["dataset"]["counts"]
    command = results["command"]
    if m.get("niceness"):
        command = f"nice -n {m['niceness']} {command}"
    return (f"{_label(results)}: `{command}` on {m['date']}, load average {m['load_average_at_start'][0]} at the "
            f"start and {m['load_average'][0]} at the end; {counts['loads']:,} loads over {counts['companies']} "
            f"tenants, {counts['batches']:,} batches, {counts['payments']:,} payments; dataset "
            f"{_built(results['dataset'])}.")


def _built(dataset):
    built = f"built in {dataset.get('build_seconds')} s"
    return f"reused ({built})" if dataset.get("reused") else built


def _cell(figure, base=None):
    if figure is None:
        return "not run"
    if figure.error:
        return "not measured: " + figure.error[:60]
    v = figure.values or {}
    if "p95_ms" in v:
        text = f"p95 {v['p95_ms']:.1f} ms (CPU {v.get('cpu_p95_ms', 0):.1f})"
        if base is not None and (base.values or {}).get("p95_ms"):
            text += f", {v['p95_ms'] / base.values['p95_ms']:.2f} ×"
        return text
    return figure.measured


def comparison(runs):
    """Markdown: the machine, each run, and one table with a column per run."""
    first = runs[0]
    m = first["machine"]
    lines = ["## Performance", "",
             textwrap.fill(f"Measured on this machine: {m['nproc']} cores ({m['cpu']}), {m['memory_gb']} GB, "
                           f"Python {m['python']}, SQLite {m['sqlite']}, load generator "
                           f"{m['load_generator'].split(' Copyright')[0]}. Every figure stands beside a floor "
                           "measured in the same run (the first run's floors and targets are shown).",
                           width=92, break_on_hyphens=False), ""]
    for results in runs:
        lines.append(textwrap.fill("- " + _intro(results), width=92, subsequent_indent="  ", break_on_hyphens=False))
    lines.append("")
    columns = [_label(r) for r in runs]
    by_run = [{f.name: f for f in _figures(r)} for r in runs]
    header = ["what"] + columns + ["floor (first run)", "target", "met (first run)"]
    # A run at a larger scale is compared with the smaller run of the same database (×).
    kinds = [_label(r).split(",")[0] for r in runs]
    loads = [r["dataset"]["counts"]["loads"] for r in runs]
    bases = [next((j for j in range(len(runs)) if kinds[j] == kinds[i] and loads[j] < loads[i]), None)
             for i in range(len(runs))]
    rows = []
    for figure in _figures(first):
        cells = [figure.name] + [_cell(by_run[i].get(figure.name),
                                       None if bases[i] is None else by_run[bases[i]].get(figure.name))
                                 for i in range(len(runs))]
        page = "p95_ms" in (figure.values or {}) and figure.floor  # a page: its floor is the first row
        rows.append(cells + ["(first row)" if page else figure.floor, figure.target, figure.status])
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    fmt = lambda r: "| " + " | ".join(str(c).ljust(w) for c, w in zip(r, widths)) + " |"  # noqa: E731
    lines += [fmt(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"] + [fmt(r) for r in rows] + [""]
    return "\n".join(lines)


def section(results):
    """Markdown of one run: how the figures were made, on what, and the table."""
    return "\n".join(["## Performance", "", textwrap.fill(_intro(results), width=92, break_on_hyphens=False), "",
                      table(_figures(results)), ""])


if __name__ == "__main__":
    paths = sys.argv[1:] or [RESULTS]
    loaded = []
    for path in paths:
        with open(path, encoding="utf-8") as fh:
            loaded.append(json.load(fh) | {"path": os.path.basename(path)})
    print(comparison(loaded) if len(loaded) > 1 else section(loaded[0]))
