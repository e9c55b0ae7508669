"""Moving a Glance deployment's images into Glare (`glare
migrate-from-glance`).  The entry points for programs (tests, an end-to-end
fixture): ``migrate(source_url, engine, Options()) -> Report`` and
``verify(source_url, engine, Options(), data=False) -> [differences]``,
where ``engine`` is ``target_engine(glare_config_path)`` (or
``glare.app.build_engine(conf)``).  See docs/architecture.md.
"""


def target_engine(config_path):
    """The artifact engine of the Glare configured by ``config_path``."""
    from glare import config
    from glare.app import build_engine
    return build_engine(config.load(config_path))


def __getattr__(name):
    if name in ("migrate", "Options", "Report", "MigrationError"):
        from migrate_from_glance import run
        return getattr(run, name)
    if name == "verify":
        from migrate_from_glance.compare import verify
        return verify
    raise AttributeError(name)
