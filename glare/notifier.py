"""Notifications to a message bus through oslo.messaging, as Glance sends them.

Off by default, as in Glance: they are on when glance-api.conf's
``[oslo_messaging_notifications] driver`` names a driver other than
``noop`` (Glance deployments write ``messagingv2``).  The rest is Glance's
configuration too: ``transport_url`` (that section's, else ``[DEFAULT]``'s),
``topics`` (``notifications``), ``retry``, ``[DEFAULT] control_exchange``
(``glance``), ``default_publisher_id`` (``image.localhost``),
``disabled_notifications`` and the ``[oslo_messaging_rabbit]`` options.
oslo.messaging is an optional dependency (``pip install
'glare[notifications]'``): configured but not installed, Glare logs an error
at start and runs without notifications.

``build(conf)`` gives a ``Notifier`` (or ``DISABLED``) with ``info`` and
``error`` (event type, payload).  What is sent and when is decided by the
faces' listeners (``glance_compat.notifications``,
``artifacts.api.notifications``); this module only delivers, with three
promises:

* **never fail a request**: a notification goes into a bounded queue and a
  thread of the worker sends it; a full queue or a broker error drops it
  with a log line (one at the start of an outage, one when it ends);
* **never block for long**: the request waits for its notification to be
  handed to the broker at most ``[glare] notification_wait_seconds`` (so a
  consumer sees a client's successive changes in order even when different
  workers made them), and not at all while the broker is failing or slow;
  oslo.messaging's retries are bounded (``retry`` -1, forever, becomes 2);
* **in order**: one sender thread per worker, first in first out.
"""

import atexit
import fnmatch
import logging
import os
import queue
import threading
import time
import warnings

from oslo_config import cfg

LOG = logging.getLogger(__name__)

SECTION = "oslo_messaging_notifications"
CONTROL_EXCHANGE = "glance"
RETRY_WHEN_FOREVER = 2
# After a failed delivery, the next attempt waits this long (the queue
# keeps what arrives meanwhile, up to its size).
BACKOFF_SECONDS = 5.0
_STOP = object()


class Disabled:
    """Notifications off: every call is a no-op."""

    enabled = False

    def is_enabled(self, event_type):
        return False

    def info(self, event_type, payload):
        pass

    def error(self, event_type, payload):
        pass

    def flush(self, timeout=None):
        return True


DISABLED = Disabled()


def disabled_match(event_type, disabled):
    """True when ``disabled`` (Glance's ``disabled_notifications``) names
    ``event_type``: the type itself, a group it belongs to (``image``
    covers every ``image.*`` event, ``image.member`` every
    ``image.member.*`` one: Glance documents these groups but matches only
    the first word), or a shell-style wildcard (``metadef_*``,
    ``*.delete``; Glance has none, and names no event with ``*``)."""
    return any(event_type == d or event_type.startswith(d + ".")
               or (_WILDCARD & set(d) and fnmatch.fnmatchcase(event_type, d))
               for d in disabled)


_WILDCARD = set("*?[")


class Notifier:
    """Queue and send notifications; see the module docstring.

    ``client_factory()`` makes the object that talks to the broker (its
    ``send(priority, event_type, payload)`` raises on failure); it is
    called in the sender thread, so each worker process makes its own
    connection after the fork."""

    enabled = True

    def __init__(self, client_factory, disabled=(), wait=1.0,
                 queue_size=1000, backoff=BACKOFF_SECONDS):
        self._factory = client_factory
        self._disabled = tuple(d for d in disabled if d)
        self._wait = wait
        self._backoff = backoff
        self._queue = queue.Queue(maxsize=queue_size)
        self._lock = threading.Lock()
        self._thread = None
        self._pid = None
        self._client = None
        self._failing = False       # the last delivery failed
        self._lagging = False       # a request stopped waiting for one
        self._lost = 0              # dropped since the outage began
        self._wake = threading.Event()  # cuts a backoff short (stop)

    # ------------------------------------------------------------ callers

    def is_enabled(self, event_type):
        return not disabled_match(event_type, self._disabled)

    def info(self, event_type, payload):
        self._put("info", event_type, payload)

    def error(self, event_type, payload):
        self._put("error", event_type, payload)

    def _put(self, priority, event_type, payload):
        if not self.is_enabled(event_type):
            return
        self._ensure_thread()
        done = threading.Event()
        try:
            self._queue.put_nowait((priority, event_type, payload, done))
        except queue.Full:
            self._drop(event_type, "the queue of %d notifications is full"
                       % self._queue.maxsize)
            return
        if self._wait > 0 and not self._failing and not self._lagging:
            if not done.wait(self._wait):
                # The broker is slow: stop holding requests until the
                # sender has caught up.
                self._lagging = True

    def flush(self, timeout=None):
        """Wait until everything queued was handled (sent or dropped);
        False if ``timeout`` seconds passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if deadline is not None and time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    def stop(self, timeout=2.0):
        """Send what is queued (for up to ``timeout`` seconds, unless the
        broker is failing), then end the sender thread (a worker that
        exits calls this)."""
        if not self._failing:
            self.flush(timeout)
        left = self._queue.unfinished_tasks
        if left:
            LOG.warning("%d notification(s) not sent at exit.", left)
        thread = self._thread
        self._wake.set()
        if thread is not None and thread.is_alive():
            try:
                self._queue.put_nowait((None, None, _STOP, None))
            except queue.Full:
                return
            thread.join(timeout)

    # ------------------------------------------------------------- sender

    def _ensure_thread(self):
        if self._pid == os.getpid() and self._thread.is_alive():
            return
        with self._lock:
            if self._pid == os.getpid() and self._thread.is_alive():
                return
            if self._pid != os.getpid():
                # A forked child: nothing of the parent's sender is ours.
                self._client = None
                self._queue = queue.Queue(maxsize=self._queue.maxsize)
                atexit.register(self.stop)
            self._pid = os.getpid()
            self._thread = threading.Thread(target=self._run, daemon=True,
                                            name="glare-notifier")
            self._thread.start()

    def _run(self):
        while True:
            priority, event_type, payload, done = self._queue.get()
            try:
                if payload is _STOP:
                    return
                self._deliver(priority, event_type, payload)
            finally:
                if done is not None:
                    done.set()
                self._queue.task_done()
                if self._queue.unfinished_tasks == 0:
                    self._lagging = False

    def _deliver(self, priority, event_type, payload):
        try:
            if self._client is None:
                self._client = self._factory()
            self._client.send(priority, event_type, payload)
        except Exception as exc:  # noqa: BLE001 - logged, never raised
            if not self._failing:
                LOG.error("Notifications are not being delivered (%s: "
                          "%s); dropping them until the message broker "
                          "takes them again.", event_type, exc)
            self._failing = True
            self._lost += 1
            self._wake.wait(self._backoff)
            return
        if self._failing:
            LOG.warning("Notifications are delivered again; %d were "
                        "dropped.", self._lost)
            self._failing = False
            self._lost = 0

    def _drop(self, event_type, why):
        self._lost += 1
        if self._lost == 1 or self._lost % 1000 == 0:
            LOG.error("Notification %s dropped: %s (%d dropped so far).",
                      event_type, why, self._lost)


# ------------------------------------------------------- oslo.messaging

class DeliveryFailed(Exception):
    """oslo.messaging could not hand a notification to the broker."""


class _FailureWatch(logging.Filter):
    """oslo.messaging logs delivery failures (with the whole payload)
    instead of raising them.  While the sender thread sends, this filter
    turns such a record into a ``DeliveryFailed`` and keeps the payload
    out of the log; other threads' records pass."""

    LOGGERS = ("oslo_messaging.notify.notifier",
               "oslo_messaging.notify.messaging")

    def __init__(self):
        super().__init__()
        self.local = threading.local()
        for name in self.LOGGERS:
            logging.getLogger(name).addFilter(self)

    def filter(self, record):
        if record.levelno < logging.ERROR or \
                not getattr(self.local, "watching", False):
            return True
        error = record.exc_info[1] if record.exc_info else None
        self.local.failure = str(error) if error else "delivery failed"
        return False


_WATCH = None


class OsloClient:
    """Sends through an ``oslo_messaging.Notifier`` (Glance's envelope:
    empty context, ``publisher_id``, the configured drivers and topics)."""

    def __init__(self, conf, publisher_id, retry):
        global _WATCH
        oslo_messaging = _import()
        if _WATCH is None:
            _WATCH = _FailureWatch()
        transport = oslo_messaging.get_notification_transport(conf)
        self._notifier = oslo_messaging.Notifier(
            transport, publisher_id=publisher_id, retry=retry)

    def send(self, priority, event_type, payload):
        _WATCH.local.watching, _WATCH.local.failure = True, None
        try:
            getattr(self._notifier, priority)({}, event_type, payload)
        finally:
            _WATCH.local.watching = False
        if _WATCH.local.failure:
            raise DeliveryFailed(_WATCH.local.failure)


def configured_drivers(conf):
    """The ``[oslo_messaging_notifications] driver`` values the files
    set, read without oslo.messaging (which may not be installed)."""
    probe = cfg.ConfigOpts()
    probe.register_opt(cfg.MultiStrOpt("driver", default=[]), group=SECTION)
    probe(args=[], project="glare", default_config_files=list(
        conf.config_file or []), default_config_dirs=[])
    return [d for d in probe[SECTION].driver if d and d != "noop"]


def _import():
    """oslo.messaging, imported without the warning its eventlet import
    prints (Glare never runs eventlet)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r"\s*Eventlet is "
                                "deprecated")
        import oslo_messaging
        import oslo_messaging.opts
    return oslo_messaging


def _register(conf):
    """oslo.messaging's options on ``conf`` (with Glance's exchange);
    returns the module."""
    oslo_messaging = _import()
    oslo_messaging.set_transport_defaults(CONTROL_EXCHANGE)
    for group, opts in oslo_messaging.opts.list_opts():
        conf.register_opts(opts, group=group)
    return oslo_messaging


def validate(conf):
    """A configured transport that cannot work (unknown scheme, malformed
    URL) is a configuration error, reported at start; returns the error
    text or None.  Nothing to check when notifications are off or
    oslo.messaging is missing (``build`` says so)."""
    if not configured_drivers(conf):
        return None
    try:
        oslo_messaging = _register(conf)
    except ImportError:
        return None
    try:
        transport = oslo_messaging.get_notification_transport(conf)
    except Exception as exc:  # noqa: BLE001 - any failure is the value's
        return ("Invalid value for [%s] transport_url (or [DEFAULT] "
                "transport_url): %s" % (SECTION, exc))
    transport.cleanup()
    return None


def build(conf):
    """The notifier this configuration asks for (``DISABLED`` unless a
    driver is configured and oslo.messaging is installed)."""
    drivers = configured_drivers(conf)
    if not drivers:
        return DISABLED
    try:
        _register(conf)
    except ImportError:
        LOG.error("[%s] driver = %s, but oslo.messaging is not installed: "
                  "notifications are off (pip install "
                  "'glare[notifications]').", SECTION, ",".join(drivers))
        return DISABLED
    section = conf[SECTION]
    retry = section.retry if section.retry >= 0 else RETRY_WHEN_FOREVER
    LOG.info("Notifications on: driver %s, topics %s, publisher %s%s",
             ",".join(section.driver), ",".join(section.topics),
             conf.default_publisher_id,
             "; disabled: " + ",".join(conf.disabled_notifications)
             if conf.disabled_notifications else "")
    return Notifier(
        lambda: OsloClient(conf, conf.default_publisher_id, retry),
        disabled=conf.disabled_notifications,
        wait=conf.glare.notification_wait_seconds,
        queue_size=conf.glare.notification_queue_size)


def library_options(written):
    """``{(section, option)}`` oslo.messaging reads, when the files
    configure it (``written``: ``config.written_options``) and it is
    installed; empty otherwise (those options then have no effect)."""
    mentions = any(s.startswith("oslo_messaging") for s in written) or \
        {"transport_url", "control_exchange"} & set(
            written.get("DEFAULT", ()))
    if not mentions:
        return set()
    try:
        oslo_messaging = _import()
    except ImportError:
        return set()
    return {(group or "DEFAULT", opt.name)
            for group, opts in oslo_messaging.opts.list_opts()
            for opt in opts}


def install(engine, conf, catalog=None):
    """Build the notifier and subscribe the faces' listeners to the
    engine's events and to ``catalog``'s (the metadefs catalog) changes
    (the app factory calls this once per app)."""
    from artifacts.api import notifications as artifact_notifications
    from glance_compat import metadef_notifications
    from glance_compat import notifications as image_notifications
    from glare import stores
    notifier = getattr(engine, "notifier", None)
    if notifier is None:        # else: one engine, several apps (tests)
        notifier = build(conf)
        image_notifications.subscribe(engine, notifier,
                                      multi_store=stores.multi_store(conf))
        artifact_notifications.subscribe(engine, notifier)
    if catalog is not None:
        metadef_notifications.subscribe(catalog, notifier)
    return notifier
