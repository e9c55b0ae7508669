"""Run the WSGI app under gunicorn (threaded workers) from our own config.

gthread workers (``glare.worker``: request heads and small bodies read by
the event loop, streamed bodies paced, so a slow client holds no thread
others need): a long upload holds one thread, not the whole worker, and
chunked request bodies of any size work.  Before workers start, crash
recovery runs (``artifacts.recovery``): the uploads, imports, store writes
and jobs of this host's dead processes (the previous server, killed) are
released and their partial data removed, so the restarted server never
shows an upload stuck in ``saving``; every worker then runs a data-job
thread (``artifacts.jobs``) that repeats it every minute.
"""

import logging
import sys
import time

from gunicorn.app.base import BaseApplication

LOG = logging.getLogger(__name__)


class _Server(BaseApplication):
    def __init__(self, conf, options):
        self.conf = conf
        self.options = options
        super().__init__()

    def load_config(self):
        for key, value in self.options.items():
            self.cfg.set(key, value)

    def load(self):
        import gc

        from glare import app as app_factory
        from glare import logs
        from artifacts import types
        logs.setup(self.conf)
        engine = app_factory.build_engine(self.conf)
        app = app_factory.create_app(self.conf, engine)
        # Each worker runs durable data jobs (copies into more stores) and
        # releases stale uploads, so work a dead worker left is finished
        # or released by the others.
        engine.jobs.start(types.all_types().values())
        # With an image cache, queued images are fetched into it here.
        app_factory.start_cache_prefetcher(engine)
        # The loaded app is ~85,000 long-lived objects (SQLAlchemy, oslo,
        # schemas) that every full collection would walk again: 35-45 ms
        # pauses, the p99 of big lists.  Freezing moves them out of the
        # collector's reach (measured: full collections ~1 ms).
        gc.collect()
        gc.freeze()
        return app


def run(conf, config_path=None):
    from artifacts import image_import, types
    from artifacts.db import migrate
    from glare.app import build_engine
    engine = build_engine(conf)
    current, head = migrate.current(engine.db), migrate.head()
    if current != head:
        raise SystemExit(
            "glare: the database at [database] connection is at schema "
            "revision %s, this Glare needs %s: run `glare db upgrade` first."
            % (current, head))
    # What a crash left: the work of this host's dead processes is released
    # now (its partial data removed), other hosts' once their lease ran
    # out; temporary files no record names (older versions) by age.
    started = time.monotonic()
    released = engine.data.recover_stale_uploads(types.all_types().values())
    for store in engine.stores.drivers.values():
        cleanup = getattr(store, "cleanup_stale_temp", None)
        if cleanup:
            cleanup(conf.glare.stale_upload_seconds)
    image_import.sweep(engine.import_plugins.work_dir)
    LOG.info("Crash recovery: released %d interrupted upload(s), write(s) "
             "or job(s) in %.3f s", released, time.monotonic() - started)
    engine.db.dispose()
    from glare import worker
    pace = worker.Pace(header_timeout=conf.client_header_timeout,
                       body_timeout=conf.client_body_timeout,
                       body_min_rate=conf.client_body_min_rate,
                       idle_timeout=conf.client_socket_timeout)
    options = {
        "bind": "%s:%d" % (conf.bind_host, conf.bind_port),
        "workers": conf.workers,
        # gthread whose threads never wait for a slow client
        # (glare/worker.py).
        "worker_class": worker.worker_class(pace),
        "threads": conf.worker_threads,
        "timeout": 3600,
        "graceful_timeout": 30,
        "keepalive": 5,
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
        "proc_name": "glare-api",
        # gunicorn's control socket lives at one fixed path per user, so two
        # Glare servers on a host would share (and delete) it; we don't use it.
        "control_socket_disable": True,
    }
    from glare import auth, config
    config.log_start_notes(conf)
    for warning in auth.insecure_listen_warnings(conf):
        # Loud: the log and the terminal, before the first request.
        LOG.warning(warning)
        print("*" * 72 + "\n" + warning + "\n" + "*" * 72,
              file=sys.stderr, flush=True)
    LOG.info("Glare listening on http://%s", options["bind"])
    print("Glare listening on http://%s (%d workers)"
          % (options["bind"], conf.workers), flush=True)
    _Server(conf, options).run()
