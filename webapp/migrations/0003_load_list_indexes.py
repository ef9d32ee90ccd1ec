"""Indexes for the Loads list over many loads (each filter or sort walks one index).

- (company, total_cents): sorted by total;
- (company, invoicing_method, load_number) and (company, billing_status, load_number):
  the invoicing method and billing status filters, counted and paged in load-number order.
"""

INDEXES = [
    ("company_id", "total_cents"),
    ("company_id", "invoicing_method", "load_number"),
    ("company_id", "billing_status", "load_number"),
]


def up(migrator, db):
    migrator.migrate(*[migrator.add_index("load", columns, False) for columns in INDEXES])


def down(migrator, db):
    migrator.migrate(*[migrator.drop_index("load", "load_" + "_".join(columns)) for columns in INDEXES])
