"""Consume oslo.messaging notifications from the RabbitMQ on this machine
(not a test module).

``NotificationQueue(topic)`` declares the queues oslo.messaging's
``messagingv2`` driver publishes to (``<topic>.info``, ``<topic>.error``,
``<topic>.warn`` on the ``glance`` topic exchange) before anything is sent,
collects what arrives (``wait``) and deletes the queues at ``close``.  A
unique topic per server keeps parallel test runs apart.
"""

import json
import os
import time
import uuid

import pytest

RABBIT_URL = os.environ.get("GLARE_TEST_RABBIT",
                            "rabbit://guest:guest@127.0.0.1:5672/")
PRIORITIES = ("info", "warn", "error")


def unique_topic(prefix="glare_test"):
    return "%s_%s" % (prefix, uuid.uuid4().hex[:12])


def notification_sections(topic, url=RABBIT_URL):
    """The configuration text that turns notifications on (Glance's)."""
    return ("[oslo_messaging_notifications]\ndriver = messagingv2\n"
            "transport_url = %s\ntopics = %s\n" % (url, topic))


def _amqp_url(url):
    return "amqp://" + url.split("://", 1)[1]


class NotificationQueue:
    def __init__(self, topic, exchange="glance", url=RABBIT_URL):
        import kombu
        self.topic = topic
        self.messages = []
        self.connection = kombu.Connection(_amqp_url(url),
                                           connect_timeout=5)
        try:
            self.connection.ensure_connection(max_retries=1)
        except Exception as err:  # noqa: BLE001
            message = "RabbitMQ is not reachable at %s: %s" % (url, err)
            if os.environ.get("CI"):
                pytest.fail(message)
            pytest.skip(message)
        self.channel = self.connection.channel()
        ex = kombu.Exchange(exchange, type="topic", durable=False)
        self.queues = []
        for priority in PRIORITIES:
            name = "%s.%s" % (topic, priority)
            queue = kombu.Queue(name, ex, routing_key=name, durable=False)
            bound = queue(self.channel)
            bound.declare()
            self.queues.append(bound)

    def drain(self):
        """Collect what is waiting; returns the new messages."""
        new = []
        for queue in self.queues:
            while True:
                raw = queue.get(no_ack=True)
                if raw is None:
                    break
                body = json.loads(raw.body)
                msg = json.loads(body["oslo.message"])
                msg["_oslo_version"] = body.get("oslo.version")
                msg["_queue"] = queue.name
                new.append(msg)
        self.messages.extend(new)
        return new

    def wait(self, predicate, timeout=20):
        """Messages (all collected so far) once ``predicate(messages)`` is
        true; fails the test after ``timeout`` seconds."""
        deadline = time.time() + timeout
        while True:
            self.drain()
            if predicate(self.messages):
                return self.messages
            if time.time() > deadline:
                pytest.fail("notifications did not arrive; got: %s" % [
                    (m["event_type"], m["priority"]) for m in self.messages])
            time.sleep(0.05)

    def about(self, artifact_id):
        """Messages about one image or artifact (its own, its members',
        its downloads', an error sentence naming it), in the order they
        were sent (their timestamps: two workers publish on two
        connections)."""
        def concerns(msg):
            payload = msg["payload"]
            if isinstance(payload, dict):
                return artifact_id in (payload.get("id"),
                                       payload.get("image_id"),
                                       payload.get("artifact_id"))
            return artifact_id in str(payload)
        return sorted([m for m in self.messages if concerns(m)],
                      key=lambda m: m["timestamp"])

    def wait_about(self, artifact_id, count, timeout=20):
        """The messages about ``artifact_id`` once there are ``count``."""
        self.wait(lambda _: len(self.about(artifact_id)) >= count, timeout)
        return self.about(artifact_id)

    def close(self):
        for queue in self.queues:
            try:
                queue.delete()
            except Exception:  # noqa: BLE001 - best effort cleanup
                pass
        self.connection.release()
