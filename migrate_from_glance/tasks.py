"""Glance's tasks into Glare's ``tasks`` table (``artifacts/tasks.py``).

Every task row Glance still has (not deleted) with its ``task_info``
(input, result, message) moves with its id, type, status, owner, image,
request and user ids, ``expires_at`` and timestamps, so ``/v2/tasks`` and
``/v2/images/{id}/tasks`` show the same records.  A run is one
transaction: the tasks are replaced by id (idempotent; a re-run brings
status changes).  Glare's runner never claims them (no handler): a task
still ``pending`` or ``processing`` in Glance is only a record here, and
the report says how many there were (stop Glance's imports before the
cut-over).  Glare purges them once ``expires_at`` passes, as Glance does.
"""

import sqlalchemy as sa

from artifacts.db.models import tasks as T
from artifacts.db.session import transaction
from migrate_from_glance.metadefs import typed_rows
from migrate_from_glance.records import TYPE

_SQL = ("SELECT t.id, t.type, t.status, t.owner, t.expires_at, "
        "t.created_at, t.updated_at, t.image_id, t.request_id, t.user_id, "
        "i.input, i.result, i.message FROM tasks t LEFT JOIN task_info i "
        "ON i.task_id = t.id WHERE t.deleted = :no ORDER BY t.id")


def read_tasks(conn):
    """Glance's live task rows, as Glare's ``tasks`` rows."""
    rows = typed_rows(conn, _SQL.replace(":no", "false" if
                                         conn.dialect.name == "postgresql"
                                         else "0"))
    out = []
    for row in rows:
        image_id = row.pop("image_id")
        out.append(dict(row, artifact_id=image_id,
                        type_name=TYPE if image_id else None,
                        updated_at=row["updated_at"] or row["created_at"],
                        handler=None, holder=None, heartbeat_at=None,
                        attempts=0))
    return out


def write_tasks(engine, rows):
    """Replace the tasks ``rows`` name (one transaction); returns how many
    were written and how many are still running in Glance."""
    def run(conn):
        ids = [r["id"] for r in rows]
        for start in range(0, len(ids), 500):
            conn.execute(T.delete().where(T.c.id.in_(ids[start:start +
                                                          500])))
        if rows:
            conn.execute(T.insert(), rows)
    transaction(engine, run)
    return counts(rows)


def counts(rows):
    return {"tasks": len(rows), "running": sum(
        r["status"] in ("pending", "processing") for r in rows)}


def differences(src_conn, target_engine):
    """verify: each Glance task against Glare's row of the same id."""
    want = {r["id"]: r for r in read_tasks(src_conn)}
    with target_engine.connect() as conn:
        got = {r.id: dict(r._mapping) for r in conn.execute(
            sa.select(T).where(T.c.id.in_(list(want))))} if want else {}
    out = []
    for task_id, row in sorted(want.items()):
        if task_id not in got:
            out.append("task %s: missing in Glare." % task_id)
            continue
        for key in ("type", "status", "owner", "artifact_id", "input",
                    "result", "message", "expires_at", "created_at",
                    "updated_at", "request_id", "user_id"):
            if row[key] != got[task_id][key]:
                out.append("task %s: %s is %r in Glare, %r in Glance."
                           % (task_id, key, got[task_id][key], row[key]))
    return out
