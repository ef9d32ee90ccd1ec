"""Two index changes found by the benchmark at 2,000,000 loads (bench/, `make bench SCALE=2000000`).

- batch_needs_action, a partial index of the batches that need the clerk (pending, running,
  failed, or ready and not yet sent): Factoring Upload's "Batches needing action" box walked
  every batch of the subsidiary newest first looking for them (the condition's OR defeats the
  status index), a read that grew with the years of history (732 batches, 0.7 ms, at 2,000,000
  loads); it now reads the few that need action and nothing else.
- load (company, subsidiary, billing_status, invoicing_method) is dropped: the index of 0007
  that ends with load_number serves every query it served (same leading columns), and each
  index costs every write of a load.
"""
# The condition, word for word as webapp.models.NEEDS_ACTION_WHERE writes it: SQLite uses a
# partial index only for a query whose WHERE holds that very term.
NEEDS_ACTION_WHERE = "status IN ('pending', 'running', 'failed') OR (status = 'ready' AND sent_at IS NULL)"
SUPERSEDED = ("company_id", "subsidiary_id", "billing_status", "invoicing_method")


def up(migrator, db):
    db.execute_sql("CREATE INDEX IF NOT EXISTS batch_needs_action ON batch (company_id, subsidiary_id, created_at) "
                   f"WHERE {NEEDS_ACTION_WHERE}")
    migrator.migrate(migrator.drop_index("load", "load_" + "_".join(SUPERSEDED)))


def down(migrator, db):
    migrator.migrate(migrator.add_index("load", SUPERSEDED, False))
    db.execute_sql("DROP INDEX IF EXISTS batch_needs_action")
