"""Create and change a company's named records (customers, subsidiaries), audited."""
from peewee import IntegrityError

from webapp.models import db
from webapp.services import audit


def create_record(model, kind, company, values, *, actor, taken):
    """Insert MODEL(company, **VALUES) with its audit row; TAKEN(name) is raised on a duplicate."""
    try:
        with db.atomic():
            row = model.create(company=company, **values)
            audit.record(f"{kind}.create", kind, row.id, actor=actor, company=company, after=values)
    except IntegrityError:
        raise taken(values["name"])
    return row


def update_record(row, kind, values, *, actor, taken):
    """Write the fields of VALUES that differ from ROW, audited with before and after."""
    before = {k: getattr(row, k) for k in values if getattr(row, k) != values[k]}
    after = {k: values[k] for k in before}
    if not after:
        return row
    model = type(row)
    try:
        with db.atomic():
            model.update(**after).where(model.id == row.id).execute()
            audit.record(f"{kind}.update", kind, row.id, actor=actor,
                         company=row.company_id, before=before, after=after)
    except IntegrityError:
        raise taken(values["name"])
    for key, value in after.items():
        setattr(row, key, value)
    return row
