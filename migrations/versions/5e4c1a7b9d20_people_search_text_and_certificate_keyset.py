"""people search: users.search_text (trigram index on PostgreSQL); certificates by issue time

Revision ID: 5e4c1a7b9d20
Revises: 7a1e5c0de514
Create Date: 2026-12-03 16:25:00

"""
import sqlalchemy as sa
from alembic import op

from lms.core.textsearch import search_key

# revision identifiers, used by Alembic.
revision = '5e4c1a7b9d20'
down_revision = '7a1e5c0de514'
branch_labels = None
depends_on = None

SEARCH_TEXT_MAX = 1000
BATCH = 1000


def _trigram_available(bind) -> bool:
    """pg_trgm is there, or this role may create it; else the column gets a plain index
    (searches still work, a partial name reads every person)."""
    try:
        with bind.begin_nested():
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        return True
    except sa.exc.DBAPIError:
        return False


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('search_text', sa.String(length=SEARCH_TEXT_MAX), server_default='', nullable=False)
        )

    # everyone already there gets their search text (the application keeps it from now on)
    bind = op.get_bind()
    users = sa.table(
        'users',
        sa.column('id', sa.Integer),
        sa.column('name', sa.String),
        sa.column('patronymic', sa.String),
        sa.column('email', sa.String),
        sa.column('search_text', sa.String),
    )
    rows = bind.execute(sa.select(users.c.id, users.c.name, users.c.patronymic, users.c.email)).all()
    update = (
        sa.update(users)
        .where(users.c.id == sa.bindparam('uid'))
        .values(search_text=sa.bindparam('text'))
    )
    for start in range(0, len(rows), BATCH):
        bind.execute(
            update,
            [
                {'uid': r.id, 'text': search_key(r.name, r.patronymic, r.email)[:SEARCH_TEXT_MAX]}
                for r in rows[start:start + BATCH]
            ],
        )

    if bind.dialect.name == 'postgresql' and _trigram_available(bind):
        op.create_index(
            'ix_users_search_text',
            'users',
            ['search_text'],
            unique=False,
            postgresql_using='gin',
            postgresql_ops={'search_text': 'gin_trgm_ops'},
        )
    else:
        op.create_index('ix_users_search_text', 'users', ['search_text'], unique=False)
    op.create_index('ix_certificates_issued_at_id', 'certificates', ['issued_at', 'id'], unique=False)


def downgrade():
    op.drop_index('ix_certificates_issued_at_id', table_name='certificates')
    op.drop_index('ix_users_search_text', table_name='users')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_column('search_text')
