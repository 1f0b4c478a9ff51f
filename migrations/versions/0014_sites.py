"""sites and travel: where sessions happen and where the athlete is

- site: the clinic's sites (name unique, IANA zone, address).
- therapist.site_id: where the therapist works; working_period.site_id: a weekly period
  at another site, working_day.site_id: a one-day change at another site, such as a
  race-weekend tent (NULL: the therapist's). athlete.home_site_id; event.venue_site_id and
  the travel span [travel_depart, travel_return); booking.site_id, the site of the working
  period the session lies in.
- Existing therapists are put at sites: one per distinct therapist time zone, named after
  the zone's city ("Europe/Berlin" -> "Berlin"), and their bookings at their site. No
  athlete gets a home site and no event a venue, so every proposal keeps its answer: with
  neither, a slot may be at every site (core/sites.py; tests/test_sites_migration.py
  builds a clinic at 0013, upgrades and compares).
- PostgreSQL: the data_version triggers of 0004 on site; a CHECK that travel has both ends
  in order. Plain ADD COLUMN on both backends (no batch copy: SQLite keeps its triggers);
  SQLite gets no new CHECK or foreign key (it cannot add one to a table in place): the
  services check.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 19:30:00.000000

"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

COLUMNS = (('therapist', 'site_id'), ('working_period', 'site_id'), ('working_day', 'site_id'),
           ('athlete', 'home_site_id'), ('event', 'venue_site_id'), ('booking', 'site_id'))
TRAVEL_CHECK = ('(travel_depart IS NULL) = (travel_return IS NULL) '
                'AND (travel_depart IS NULL OR travel_depart < travel_return)')


def _site_name(zone: str, taken: set[str]) -> str:
    name = zone.rsplit('/', 1)[-1].replace('_', ' ') or zone
    found, n = name, 2
    while found in taken:
        found, n = f'{name} {n}', n + 1
    taken.add(found)
    return found


def upgrade():
    postgresql = op.get_bind().dialect.name == 'postgresql'
    op.create_table(
        'site',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('timezone', sa.String(length=64), nullable=False),
        sa.Column('address', sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_site')),
        sa.UniqueConstraint('name', name=op.f('uq_site_name')),
    )
    for table, column in COLUMNS:
        # A foreign key on PostgreSQL; SQLite cannot add one in place (nor drop a column
        # that has one): there the services check that a site exists.
        references = ((sa.ForeignKey('site.id', name=op.f(f'fk_{table}_{column}_site')),)
                      if postgresql else ())
        op.add_column(table, sa.Column(column, sa.Integer(), *references, nullable=True))
    op.create_index('ix_therapist_site_id', 'therapist', ['site_id'])
    op.add_column('event', sa.Column('travel_depart', sa.DateTime(timezone=True),
                                     nullable=True))
    op.add_column('event', sa.Column('travel_return', sa.DateTime(timezone=True),
                                     nullable=True))
    if postgresql:
        op.create_check_constraint('travel', 'event', TRAVEL_CHECK)
        op.execute('CREATE CONSTRAINT TRIGGER data_version_bump AFTER INSERT OR UPDATE '
                   'OR DELETE ON site DEFERRABLE INITIALLY DEFERRED FOR EACH ROW '
                   'EXECUTE FUNCTION bump_data_version()')
        op.execute('CREATE TRIGGER data_version_truncate AFTER TRUNCATE ON site '
                   'FOR EACH STATEMENT EXECUTE FUNCTION bump_data_version()')

    conn = op.get_bind()
    zones = [row[0] for row in conn.execute(sa.text(
        'SELECT DISTINCT timezone FROM therapist ORDER BY timezone'))]
    taken: set[str] = set()
    for zone in zones:
        site_id = conn.execute(sa.text(
            "INSERT INTO site (name, timezone, address) VALUES (:name, :zone, '') "
            "RETURNING id"), {'name': _site_name(zone, taken), 'zone': zone}).scalar_one()
        conn.execute(sa.text('UPDATE therapist SET site_id = :site WHERE timezone = :zone'),
                     {'site': site_id, 'zone': zone})
    conn.execute(sa.text('UPDATE booking SET site_id = (SELECT site_id FROM therapist '
                         'WHERE therapist.id = booking.therapist_id)'))


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint(op.f('ck_event_travel'), 'event', type_='check')
    op.drop_column('event', 'travel_return')
    op.drop_column('event', 'travel_depart')
    op.drop_index('ix_therapist_site_id', table_name='therapist')
    for table, column in reversed(COLUMNS):
        # Plain DROP COLUMN (SQLite >= 3.35) needs the column free of constraints there.
        if op.get_bind().dialect.name == 'postgresql':
            op.drop_constraint(op.f(f'fk_{table}_{column}_site'), table, type_='foreignkey')
        op.drop_column(table, column)
    op.drop_table('site')
