"""Delivering notifications (glare/notifier.py): off unless configured,
in order, never failing or holding a request for long, Glance's options."""

import logging
import sys
import threading
import time

import pytest

from glare import config, notifier

from tests.conftest import free_port


class FakeClient:
    """Records what it is asked to send; can be slow or fail."""

    def __init__(self, delay=0.0, fail=False, gate=None):
        self.sent = []
        self.delay = delay
        self.fail = fail
        self.gate = gate

    def send(self, priority, event_type, payload):
        if self.gate is not None:
            self.gate.wait(10)
        time.sleep(self.delay)
        if self.fail:
            raise notifier.DeliveryFailed("connection refused")
        self.sent.append((priority, event_type, payload))


def make(client, **kwargs):
    kwargs.setdefault("backoff", 0.01)
    made = notifier.Notifier(lambda: client, **kwargs)
    return made


def test_sends_in_order_with_priorities():
    client = FakeClient()
    sender = make(client)
    for i in range(50):
        sender.info("image.update", {"n": i})
    sender.error("image.upload", "it failed")
    assert sender.flush(5)
    assert client.sent == [("info", "image.update", {"n": i})
                           for i in range(50)] + [
        ("error", "image.upload", "it failed")]
    sender.stop()


def test_a_request_waits_for_its_notification_but_not_for_long():
    client = FakeClient(delay=0.2)
    sender = make(client, wait=1.0)
    started = time.monotonic()
    sender.info("image.create", {})
    assert client.sent                      # delivered before returning
    assert 0.15 < time.monotonic() - started < 1.0
    sender.stop()

    slow = FakeClient(delay=1.0)
    sender = make(slow, wait=0.2)
    started = time.monotonic()
    sender.info("image.create", {})         # waits 0.2 s, then gives up
    sender.info("image.update", {})         # lagging: does not wait
    assert time.monotonic() - started < 0.6
    assert sender.flush(5) and len(slow.sent) == 2
    assert not sender._lagging              # caught up: waits again
    sender.stop()


def test_a_failing_broker_is_logged_once_and_requests_do_not_wait(caplog):
    client = FakeClient(fail=True)
    sender = make(client, wait=5.0)
    with caplog.at_level(logging.WARNING, logger="glare.notifier"):
        sender.info("image.create", {"secret": "payload"})
        started = time.monotonic()
        for _ in range(5):
            sender.info("image.update", {})
        assert time.monotonic() - started < 1.0
        assert sender.flush(5)
        client.fail = False
        sender.info("image.delete", {})
        assert sender.flush(5)
    errors = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert len(errors) == 1
    assert "not being delivered" in errors[0].getMessage()
    assert "payload" not in errors[0].getMessage()
    assert "delivered again; 6 were dropped" in caplog.records[-1].getMessage()
    assert client.sent == [("info", "image.delete", {})]
    sender.stop()


def test_a_full_queue_drops_and_says_so(caplog):
    gate = threading.Event()
    client = FakeClient(gate=gate)
    sender = make(client, wait=0, queue_size=2)
    with caplog.at_level(logging.ERROR, logger="glare.notifier"):
        for i in range(6):
            sender.info("image.update", {"n": i})
    gate.set()
    assert sender.flush(5)
    # One in the sender's hands, two queued, the rest dropped.
    assert 2 <= len(client.sent) <= 3
    assert any("queue of 2 notifications is full" in r.getMessage()
               for r in caplog.records)
    sender.stop()


@pytest.mark.parametrize("event,disabled,off", [
    ("image.create", ["image"], True),
    ("image.member.create", ["image"], True),
    ("image.member.create", ["image.member"], True),
    ("image.create", ["image.member"], False),
    ("image.create", ["image.create"], True),
    ("image.update", ["image.create"], False),
    ("image.create", ["image.c"], False),
    ("task.success", ["task"], True),
    ("image.send", ["task", "image.send"], True),
    ("metadef_tag.create", ["metadef_tag"], True),
    ("metadef_namespace.delete_tags", ["metadef_namespace"], True),
    ("metadef_namespace.create", ["metadef_tag"], False),
    # Shell-style wildcards.
    ("metadef_object.update", ["metadef_*"], True),
    ("image.delete", ["*.delete"], True),
    ("image.member.delete", ["*.delete"], True),
    ("image.update", ["*.delete"], False),
    ("task.success", ["task.[sf]*"], True),
    ("task.run", ["task.[sf]*"], False),
    ("image.send", ["image.sen?"], True),
])
def test_disabled_notifications_types_and_groups(event, disabled, off):
    client = FakeClient()
    sender = make(client, disabled=disabled)
    sender.info(event, {})
    assert sender.flush(5)
    assert sender.is_enabled(event) is not off
    assert bool(client.sent) is not off
    sender.stop()


def test_a_forked_worker_gets_its_own_sender():
    client = FakeClient()
    sender = make(client)
    sender.info("image.create", {})
    first = sender._thread
    sender._pid = -1                        # as seen from a forked child
    sender.info("image.update", {})
    assert sender._thread is not first and sender._thread.is_alive()
    assert sender.flush(5)
    assert [e for _, e, _ in client.sent] == ["image.create", "image.update"]
    sender.stop()
    assert not sender._thread.is_alive()


# ------------------------------------------------------------ configuration

def load(tmp_path, text):
    path = tmp_path / "glare.conf"
    path.write_text(text)
    return config.load(str(path))


def test_off_by_default_and_with_noop(tmp_path):
    assert notifier.build(load(tmp_path, "")) is notifier.DISABLED
    conf = load(tmp_path, "[oslo_messaging_notifications]\ndriver = noop\n")
    assert notifier.build(conf) is notifier.DISABLED
    assert not notifier.DISABLED.enabled
    notifier.DISABLED.info("image.create", {})      # a no-op


def test_configured_but_oslo_messaging_missing_logs_and_stays_off(
        tmp_path, monkeypatch, caplog):
    conf = load(tmp_path, "[oslo_messaging_notifications]\n"
                          "driver = messagingv2\n")
    monkeypatch.setitem(sys.modules, "oslo_messaging", None)
    with caplog.at_level(logging.ERROR, logger="glare.notifier"):
        assert notifier.build(conf) is notifier.DISABLED
    assert "oslo.messaging is not installed" in caplog.text
    assert "glare[notifications]" in caplog.text


def test_glance_options(tmp_path):
    conf = load(tmp_path, """\
[DEFAULT]
default_publisher_id = image.host1
disabled_notifications = image.member,task
[glare]
notification_wait_seconds = 0.5
[oslo_messaging_notifications]
driver = messagingv2
topics = glance_notifications
""")
    built = notifier.build(conf)
    assert built.enabled
    assert not built.is_enabled("image.member.create")
    assert not built.is_enabled("task.run")
    assert built.is_enabled("image.create")
    assert built._wait == 0.5
    assert conf.default_publisher_id == "image.host1"
    assert conf.oslo_messaging_notifications.topics == ["glance_notifications"]
    assert conf.control_exchange == "glance"      # Glance's exchange
    # oslo.messaging's options are honoured, not "ignored".
    assert config.unused_options(conf) == []


def test_defaults_are_glances(tmp_path):
    conf = load(tmp_path, "[oslo_messaging_notifications]\n"
                          "driver = messagingv2\n")
    notifier.build(conf)
    assert conf.default_publisher_id == "image.localhost"
    assert conf.oslo_messaging_notifications.topics == ["notifications"]
    assert conf.disabled_notifications == []


def test_a_transport_url_that_cannot_work_is_rejected_at_start(tmp_path):
    with pytest.raises(config.ConfigError) as info:
        load(tmp_path, "[DEFAULT]\ntransport_url = nosuchdriver://x/\n"
                       "[oslo_messaging_notifications]\n"
                       "driver = messagingv2\n")
    assert "transport_url" in str(info.value)


def test_oslo_messaging_options_unknown_when_not_configured():
    assert notifier.library_options({"DEFAULT": ["debug"]}) == set()
    known = notifier.library_options({"oslo_messaging_rabbit": ["x"]})
    assert ("oslo_messaging_rabbit", "heartbeat_timeout_threshold") in known
    assert ("DEFAULT", "transport_url") in known


def test_oslo_client_turns_a_refused_connection_into_an_error(
        tmp_path, caplog):
    """The real oslo.messaging path: it logs (with the payload) instead of
    raising; the client raises instead and the payload stays out of the
    log."""
    conf = load(tmp_path, "[oslo_messaging_notifications]\n"
                          "driver = messagingv2\n"
                          "transport_url = rabbit://guest:guest@127.0.0.1:"
                          "%d/\n" % free_port())
    notifier.build(conf)
    client = notifier.OsloClient(conf, "image.localhost", retry=0)
    started = time.monotonic()
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(notifier.DeliveryFailed):
            client.send("info", "image.create", {"secret": "s3cr3t"})
    assert time.monotonic() - started < 5
    assert "s3cr3t" not in caplog.text
