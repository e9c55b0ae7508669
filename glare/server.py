"""Run the WSGI app under gunicorn (threaded workers) from our own config.

gthread workers: a long upload holds one thread, not the whole worker, and
chunked request bodies of any size work.  Stale temporary files of uploads
cut off by a crash are removed before workers start.
"""

import logging

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
        from glare import app as app_factory
        from glare import logs
        logs.setup(self.conf)
        return app_factory.create_app(self.conf)


def run(conf, config_path=None):
    from artifacts.stores import create
    store = create("filesystem", conf.glance_store.default_store,
                   {"datadir": conf.glance_store.filesystem_store_datadir})
    cleanup = getattr(store, "cleanup_stale_temp", None)
    if cleanup:
        cleanup(conf.glare.stale_upload_seconds)
    options = {
        "bind": "%s:%d" % (conf.bind_host, conf.bind_port),
        "workers": conf.workers,
        "worker_class": "gthread",
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
    LOG.info("Glare listening on http://%s", options["bind"])
    print("Glare listening on http://%s (%d workers)"
          % (options["bind"], conf.workers), flush=True)
    _Server(conf, options).run()
