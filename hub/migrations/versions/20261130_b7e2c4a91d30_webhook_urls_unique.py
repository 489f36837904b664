"""webhook receiver URLs are unique

One receiver is registered once (issue 13 item 3). Endpoints saved before this revision may
share a URL: the oldest keeps it; each later copy is disabled and its URL gets a
`#duplicate-<id>` fragment (not sent over HTTP, so it still names the same receiver if an owner
re-enables it), so the unique index can be built and nothing is deleted.

Revision ID: b7e2c4a91d30
Revises: a87095e0a28e
Create Date: 2026-11-30 14:00:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "b7e2c4a91d30"
down_revision = "a87095e0a28e"
branch_labels = None
depends_on = None


def upgrade():
    conn = op.get_bind()
    endpoints = sa.table(
        "webhook_endpoints", sa.column("id", sa.Integer), sa.column("url", sa.String), sa.column("is_active", sa.Boolean)
    )
    first_of_url: dict[str, int] = {}
    for endpoint_id, url in conn.execute(sa.select(endpoints.c.id, endpoints.c.url).order_by(endpoints.c.id)):
        if url in first_of_url:
            conn.execute(
                endpoints.update()
                .where(endpoints.c.id == endpoint_id)
                .values(url=f"{url[:480]}#duplicate-{endpoint_id}", is_active=False)
            )
        else:
            first_of_url[url] = endpoint_id
    op.create_index(op.f("ix_webhook_endpoints_url"), "webhook_endpoints", ["url"], unique=True)


def downgrade():
    op.drop_index(op.f("ix_webhook_endpoints_url"), table_name="webhook_endpoints")
