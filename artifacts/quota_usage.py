"""Usage of the staging and in-progress quotas, computed in SQL.

``artifacts.quotas`` counts artifacts, stored bytes and upload
reservations; this module adds what data *on its way* takes:

* ``staged_bytes``: the size of the live blobs of staging fields (a
  ``DataFlow`` with ``staging``: images' ``staging``), i.e. data waiting
  in the staging store for an import.  Glance's ``image_stage_total``.
  Those blobs are left out of ``stored_bytes`` (Glance's
  ``image_size_total`` counts the image's locations only): staged data
  starts to count as stored when an import copies it into a store.
* ``uploading_count``: the live artifacts whose data is being written: in
  a flow's transit status (images: ``saving``, ``uploading``,
  ``importing``: an image stays ``uploading`` from its staging until its
  import, as in Glance), holding an upload claim (a ``saving`` blob row),
  or with a copy job not yet ended (copy-image).  Glance's
  ``image_count_uploading``.

Both are derived from the types' declarations (``data_flows``), so they
mean the same for every type that stages data or has transit statuses.
"""

import sqlalchemy as sa

from artifacts import types
from artifacts.db.models import (artifact_blobs, artifacts, data_jobs,
                                 upload_reservations)
from artifacts.locking import _now as db_clock

A = artifacts
B = artifact_blobs
J = data_jobs
R = upload_reservations

LIVE_JOB_STATUSES = ("pending", "running")


def staging_fields():
    """[(type_name, field)] of every field whose data waits in staging."""
    return sorted((atype.name, field)
                  for atype in types.all_types().values()
                  for field, flow in atype.data_flows.items() if flow.staging)


def _staging_uploads():
    """[(type_name, status)] an artifact is in while data streams into a
    staging field."""
    return sorted({(atype.name, flow.via)
                   for atype in types.all_types().values()
                   for flow in atype.data_flows.values() if flow.staging})


def transit_statuses():
    """[(type_name, status)] of every flow's transit statuses."""
    pairs = set()
    for atype in types.all_types().values():
        for flow in atype.data_flows.values():
            for status in (flow.via, flow.importing, flow.checking):
                if status and status != flow.to:
                    pairs.add((atype.name, status))
            if flow.staging:
                # Staged data waits in the flow's ``to`` status (images:
                # ``uploading``) until it is imported.
                pairs.add((atype.name, flow.to))
    return sorted(pairs)


def _any_pair(first, second, pairs):
    if not pairs:
        return sa.false()
    return sa.or_(*[sa.and_(first == a, second == b) for a, b in pairs])


def not_staged(type_column, field_column):
    """A condition leaving staging fields' blobs out (for stored bytes)."""
    return sa.not_(_any_pair(type_column, field_column, staging_fields()))


def staged(conn, project_id):
    """{type_name: bytes of staged data} of a project."""
    return {t: int(n or 0) for t, n in conn.execute(
        sa.select(A.c.type_name, sa.func.sum(B.c.size))
        .select_from(A.join(B, B.c.artifact_id == A.c.id))
        .where(A.c.owner == project_id, A.c.deleted == sa.false(),
               B.c.slot.is_not(None), B.c.status == "active",
               _any_pair(A.c.type_name, B.c.field, staging_fields()))
        .group_by(A.c.type_name))}


def staging_reserved(conn, dialect, project_id, exclude=None):
    """{type_name: bytes reserved by live uploads into staging}
    (``exclude``: the caller's own reservation id)."""
    query = (sa.select(R.c.type_name, sa.func.sum(R.c.bytes))
             .select_from(R.join(A, A.c.id == R.c.artifact_id))
             .where(R.c.project_id == project_id,
                    R.c.expires_at > db_clock(dialect),
                    _any_pair(A.c.type_name, A.c.status,
                              _staging_uploads()))
             .group_by(R.c.type_name))
    if exclude is not None:
        query = query.where(R.c.id != exclude)
    return {t: int(n or 0) for t, n in conn.execute(query)}


def uploading(conn, project_id):
    """{type_name: live artifacts whose data is being written}."""
    claimed = sa.exists().where(B.c.artifact_id == A.c.id,
                                B.c.status == "saving")
    copying = sa.exists().where(J.c.artifact_id == A.c.id,
                                J.c.status.in_(LIVE_JOB_STATUSES))
    return dict(conn.execute(
        sa.select(A.c.type_name, sa.func.count())
        .where(A.c.owner == project_id, A.c.deleted == sa.false(),
               sa.or_(_any_pair(A.c.type_name, A.c.status,
                                transit_statuses()), claimed, copying))
        .group_by(A.c.type_name)).all())
