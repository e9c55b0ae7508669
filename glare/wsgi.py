"""WSGI entry point: ``gunicorn 'glare.wsgi:application()'`` style loaders.

The config file comes from ``GLARE_CONFIG`` (empty: built-in defaults).
"""

import os

from glare import app as app_factory
from glare import config, logs


def application():
    conf = config.load(os.environ.get("GLARE_CONFIG") or None)
    logs.setup(conf)
    return app_factory.create_app(conf)
