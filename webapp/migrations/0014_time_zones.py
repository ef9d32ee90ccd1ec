"""Local time (services/local_time.py).

company.time_zone: the IANA zone every time of the company is shown in (Company Profile);
existing companies get America/Chicago, Central time, where most of the demo's and the
first customers' desks are. user.time_zone: a user's own choice (My account), blank for the
company's. subsidiary.time_zone: the zone of the subsidiary's PDFs, blank for the company's.
"""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_column('company', 'time_zone', CharField(default='America/Chicago')),
        migrator.add_column('user', 'time_zone', CharField(default='')),
        migrator.add_column('subsidiary', 'time_zone', CharField(default='')),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_column('subsidiary', 'time_zone'),
        migrator.drop_column('user', 'time_zone'),
        migrator.drop_column('company', 'time_zone'),
    )
