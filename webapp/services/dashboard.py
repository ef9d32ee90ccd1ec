"""The home page: where the company's factoring work stands today."""
from peewee import fn

from webapp.models import BILLING_STATUSES
from webapp.models import FACTORING
from webapp.models import Load


def status_summary(company):
    """[(status, label, count, total cents)] of the company's factoring loads, in workflow order."""
    rows = (Load.select(Load.billing_status, fn.COUNT(Load.id).alias("n"),
                        fn.COALESCE(fn.SUM(Load.total_cents), 0).alias("total"))
            .where((Load.company == company) & (Load.invoicing_method == FACTORING))
            .group_by(Load.billing_status).dicts())
    by_status = {r["billing_status"]: r for r in rows}
    return [(key, label, by_status.get(key, {}).get("n", 0), by_status.get(key, {}).get("total", 0))
            for key, label in BILLING_STATUSES.items()]
