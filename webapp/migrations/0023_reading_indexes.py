"""Indexes that let three readings walk an index alone (found by the benchmark, bench/).

- load (company, customer, load_number) in place of (company, customer): the Loads list
  filtered by one customer, in its default order (load number), reads the page's 25 entries
  of that customer instead of walking the company's loads in load-number order until 25 of
  them are that customer's (0.1 % of the loads: some 20,000 rows read); the bounded count
  and the list sorted by customer use the same index by its first two columns, as before.
- pay_days_tally (company, days, n) and (company, customer, days, n): Reports > Cost and
  speed sums the days-to-pay histogram of all debtors, and reads the largest debtors', from
  the index without reading the table.
- fund_days_tally (company, factor_key, subsidiary, days, n): the days-to-fund histogram of
  each factor and subsidiary, summed over the weeks in index order (no sort), from the index
  alone; its rows grow with the weeks of history.
"""

LOAD_BY_CUSTOMER = ("company_id", "customer_id", "load_number")
OLD_LOAD_BY_CUSTOMER = ("company_id", "customer_id")
INDEXES = [
    ("pay_days_tally", ("company_id", "days", "n")),
    ("pay_days_tally", ("company_id", "customer_id", "days", "n")),
    ("fund_days_tally", ("company_id", "factor_key", "subsidiary_id", "days", "n")),
]


def up(migrator, db):
    migrator.migrate(
        migrator.add_index("load", LOAD_BY_CUSTOMER, False),
        migrator.drop_index("load", "load_" + "_".join(OLD_LOAD_BY_CUSTOMER)),
        *[migrator.add_index(table, columns, False) for table, columns in INDEXES],
    )


def down(migrator, db):
    migrator.migrate(
        *[migrator.drop_index(table, table + "_" + "_".join(columns)) for table, columns in INDEXES],
        migrator.add_index("load", OLD_LOAD_BY_CUSTOMER, False),
        migrator.drop_index("load", "load_" + "_".join(LOAD_BY_CUSTOMER)),
    )
