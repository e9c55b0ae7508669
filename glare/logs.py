"""Logging set-up: one line per event, with the request id when known."""

import logging
import sys


def setup(conf):
    level = logging.DEBUG if conf.debug else logging.INFO
    handler = (logging.FileHandler(conf.log_file) if conf.log_file
               else logging.StreamHandler(sys.stderr))
    handler.setFormatter(logging.Formatter(
        "%(asctime)s %(process)d %(levelname)s %(name)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # Library chatter an operator does not need at INFO.
    for noisy in ("alembic.runtime.migration", "alembic.runtime.plugins",
                  "oslo_policy"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
