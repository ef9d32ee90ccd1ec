"""Shared set-up of the batch tests: the demo tenant, its subsidiaries and loads ready to batch."""
from webapp import jobs
from webapp.models import Company
from webapp.models import Subsidiary
from webapp.models import User
from webapp.services import batches


def submit_batch(company, subsidiary, load_ids, actor):
    """Create a batch and start its job after the commit, as Submit Batch does (in tests the
    immediate queue runs the job at once). Returns the batch as created."""
    batch = batches.create_batch(company, subsidiary, load_ids, actor)
    jobs.start_batch(batch.id)
    return batch


class Demo:
    """The demo tenant as the batch tests see it (read inside an open connection)."""

    def __init__(self):
        self.company = Company.get(Company.name == "Demo Trucking")
        self.freight = Subsidiary.get((Subsidiary.company == self.company) & (Subsidiary.name == "Demo Freight LLC"))
        self.logistics = Subsidiary.get((Subsidiary.company == self.company)
                                        & (Subsidiary.name == "Demo Logistics Inc"))
        self.billing = User.get(User.email == "billing@demo.test")
        self.other_company = Company.get(Company.name == "Other Carrier Co")
        self.other_sub = Subsidiary.get(Subsidiary.company == self.other_company)

    def eligible(self, n=None, subsidiary=None):
        """Ids of the first N loads that can go to the factor (by load number)."""
        from webapp.models import Load
        query = (batches.eligible_loads(self.company, subsidiary or self.freight)
                 .order_by(Load.load_number))
        if n:
            query = query.limit(n)
        return [load.id for load in query]


class count_queries:
    """Count the SQL statements peewee runs inside the block (its DEBUG log, one line each)."""

    def __enter__(self):
        import logging
        self.count = 0
        self._logger = logging.getLogger("peewee")
        self._level = self._logger.level
        self._handler = logging.Handler()
        self._handler.emit = self._seen
        self._logger.addHandler(self._handler)
        self._logger.setLevel(logging.DEBUG)
        return self

    def _seen(self, record):
        self.count += 1

    def __exit__(self, *exc):
        self._logger.removeHandler(self._handler)
        self._logger.setLevel(self._level)
