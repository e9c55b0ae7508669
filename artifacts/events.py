"""What happened to artifacts, told after the fact (``engine.events``).

The engine, its data path and its sharing emit an ``Event`` once a change
is committed: never for a change that rolled back, and never before the
database says it happened.  Listeners (notifications to a message bus, see
``glare.notifier``) turn events into whatever their consumers expect; the
core knows nothing of those formats.

Emitting costs nothing when nobody listens (the default).  A listener runs
in the thread that made the change, so it sees the state right after it; a
listener that fails is logged and never fails the operation (the change is
already committed).

Events (``name``: when; ``details``):

* ``create``, ``update`` (metadata, tags; ``old``), ``delete``
  (``deleted_at``, ``status``: the status the artifact was given),
  ``status`` (deactivate/reactivate: ``operation``, ``old``, ``new``),
  ``activate``;
* ``upload_start`` (the claim is committed and a flow's status moved;
  ``field``, ``store``), ``upload_done`` (``field``, ``store``),
  ``upload_failed`` (the claim is released and the status back;
  ``field``, ``error``);
* ``import_start``, ``import_done`` (``stores``), ``import_failed``
  (``error``): staged data made the artifact's data;
* ``copy_start``, ``copy_done``, ``copy_failed`` (``field``, ``store``;
  ``error``): the data is being copied into, is in, could not be copied
  into one more store;
* ``location_removed`` (``field``, ``store``);
* ``member_create``, ``member_update``, ``member_delete`` (``member``:
  the member row; ``deleted_at`` for a deletion);
* ``task_create``, ``task_processing``, ``task_run``, ``task_success``,
  ``task_failure`` (``task``: the task row; ``atype`` may be None and the
  artifact id None): a task's steps, from ``artifacts.tasks``.
"""

import dataclasses
import logging

LOG = logging.getLogger(__name__)


@dataclasses.dataclass
class Event:
    """One committed change.  ``artifact`` is its state right after the
    change: given by the emitter when it has it at hand, else read on
    first use (``load``)."""

    name: str
    ctx: object
    atype: object
    artifact_id: str
    details: dict
    _artifact: dict | None = None
    _loader: object = dataclasses.field(default=None, repr=False)

    @property
    def artifact(self):
        if self._artifact is None and self._loader is not None:
            self._artifact = self._loader(self.artifact_id)
        return self._artifact


class Events:
    """Listeners of an engine's events; ``loader(artifact_id)`` reads an
    artifact (deleted ones too) for events emitted without one."""

    def __init__(self, loader=None):
        self._listeners = []
        self._loader = loader

    def subscribe(self, listener):
        """``listener(event)`` is called for every event from now on."""
        self._listeners.append(listener)

    def __bool__(self):
        return bool(self._listeners)

    def emit(self, name, ctx, atype, artifact_id, artifact=None, **details):
        if not self._listeners:
            return
        event = Event(name, ctx, atype, artifact_id, details, artifact,
                      self._loader)
        for listener in self._listeners:
            try:
                listener(event)
            except Exception:  # noqa: BLE001 - the change is committed
                LOG.exception("Listener %s failed on %s of %s %s",
                              getattr(listener, "__name__", listener), name,
                              getattr(atype, "noun", atype), artifact_id)
