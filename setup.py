"""Glare: an artifact repository with a Glance Image API v2 face."""

from setuptools import find_packages, setup

setup(
    name="glare",
    version="0.1.0",
    description="Artifact repository with an OpenStack Glance v2 API",
    python_requires=">=3.11",
    # "schemas" is a data directory, not a package: glance_compat.schemas
    # reads Glance's schema files from <site-packages>/schemas/, beside
    # glance_compat/, as it does from the source tree.  Without it an
    # installed (non-editable) Glare cannot start.
    packages=find_packages(include=["glare*", "artifacts*", "glance_compat*",
                                    "migrate_from_glance*", "metadefs*",
                                    "conformance*"])
    + ["schemas"],
    include_package_data=True,
    package_data={"artifacts.db": ["migrations/*.py", "migrations/*.mako",
                                   "migrations/versions/*.py"],
                  "schemas": ["*.json"]},
    install_requires=[
        "flask>=3.0",
        "flask-smorest>=0.44",
        "marshmallow>=3.20",
        "sqlalchemy>=2.0",
        "alembic>=1.13",
        "jsonschema>=4.0",
        # WebOb renders error bodies byte-for-byte as Glance's WebOb does.
        "webob>=1.8",
        "oslo.config>=9.0",
        "oslo.policy>=4.0",
        # Glance's own CORS and proxy-header filters, so [cors] and
        # [oslo_middleware] options mean what they mean in glance-api.conf.
        "oslo.middleware>=6.0",
        "gunicorn>=22.0",
        # Swagger UI's scripts and styles for /artifacts/docs, served by
        # Glare itself so the page works without internet (no CDN); its
        # Swagger UI 5 reads our OpenAPI 3.1 (swagger-ui-bundle's 4.x
        # cannot).  We use only its dist/ files, not its blueprint.
        "flask-swagger-ui>=5.0",
        # The read-only http store (artifacts/stores/http.py) streams image
        # data from web servers, as Glance's http store does.
        "requests>=2.31",
        # artifacts.net: hosts are checked after IDNA/UTS-46 mapping (idna)
        # and fetches connect to the checked address through urllib3, with
        # certifi's CAs (all three come with requests; named because we
        # use them directly).
        "idna>=3.6",
        "urllib3>=2.0",
        "certifi",
        # Image format detection (artifacts/types/image_format.py) uses
        # oslo.utils' format_inspector directly (oslo.policy pulls
        # oslo.utils in too, but we should not rely on that).
        "oslo.utils>=7.4",
        # oslo.utils >= 8 imports cryptography in format_inspector (LUKS
        # detection) but declares it only in its "image-inspection" extra:
        # without it a plain `pip install .` fails at start with "No
        # module named 'cryptography'".
        "cryptography>=43.0",
        # `glare migrate-from-glance` draws its progress bar (rate, ETA)
        # with rich on a terminal; rich is well kept, has no dependencies
        # beyond pygments/markdown-it, and is already in the test venv.
        "rich>=13.0",
    ],
    extras_require={
        "postgres": ["psycopg2-binary>=2.9"],
        "mysql": ["pymysql>=1.1"],
        "s3": ["boto3>=1.34"],
        # oslo.limit reads Keystone's unified limits when
        # use_keystone_limits is on (artifacts/keystone_limits.py), as
        # Glance does; only a Keystone deployment needs it.
        # python-memcached: keystonemiddleware's token cache when
        # [keystone_authtoken] memcached_servers is set (devstack sets it;
        # glare/auth.py refuses to start without it then).
        "keystone": ["keystonemiddleware>=10.0", "oslo.limit>=2.0",
                     "python-memcached>=1.59"],
        # Notifications to RabbitMQ ([oslo_messaging_notifications],
        # glare/notifier.py).  An extra, not a dependency: oslo.messaging
        # pulls in 17 more packages (eventlet, greenlet, oslo.service,
        # Paste, Routes, kombu, amqp, prometheus-client, yappi, ...) and
        # notifications are off by default.  Configured but missing, Glare
        # logs an error and runs without them.
        "notifications": ["oslo.messaging>=14.0"],
        "test": ["pytest>=8", "pytest-xdist>=3", "requests-mock>=1.11",
                 "oslo.limit>=2.0",
                 "requests>=2.31", "python-glanceclient>=4.0",
                 "openstacksdk>=3.0", "warlock>=2.0",
                 "keystonemiddleware>=10.0", "python-memcached>=1.59",
                 "psycopg2-binary>=2.9",
                 # tests/integration/test_notifications.py consumes them
                 # from RabbitMQ (kombu comes with it).
                 "oslo.messaging>=14.0",
                 "pymysql>=1.1",
                 # The s3 store's tests run against a real S3-protocol
                 # server on 127.0.0.1: moto in server mode.
                 "boto3>=1.34", "moto[server]>=5.0",
                 # Fuzzes the Artifact API from its OpenAPI document
                 # (make fuzz, tests/integration/test_artifact_api.py).
                 "schemathesis>=4.0",
                 # Drives Debian's headless Chromium (with its own
                 # chromedriver, never a downloaded one) to check that
                 # /artifacts/docs renders offline.
                 "selenium>=4.20"],
    },
    entry_points={"console_scripts": ["glare = glare.cli:main"],
                  # oslopolicy-sample-generator --namespace glare
                  "oslo.policy.policies": [
                      "glare = glare.policies:list_rules"]},
)
