"""artifacts.locking on a fresh database of each kind (schema built by the
migrations): acquire/release, waiting and 409, expiry and takeover,
and no lost increments of a read-modify-write counter under the lock from
many threads and from several processes."""

import datetime
import multiprocessing
import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from artifacts import errors, locking
from artifacts.db import session
from artifacts.db.models import artifact_locks
from artifacts.locking import Locks
from tests.conftest import migrated_database, selected_databases

# A table of the test only: the shared state the lock protects.
counter_meta = sa.MetaData()
counter = sa.Table(
    "lock_test_counter", counter_meta,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("value", sa.Integer, nullable=False),
)


@pytest.fixture(scope="module", params=selected_databases())
def db(request, tmp_path_factory):
    """(url, engine) of a fresh, migrated database per kind."""
    kind = request.param
    tmp = tmp_path_factory.mktemp("locking-%s" % kind)
    with migrated_database(kind, tmp) as (url, engine):
        counter_meta.create_all(engine)
        yield url, engine


@pytest.fixture
def engine(db):
    return db[1]


def key():
    return ("image", str(uuid.uuid4()))


def lock_rows(engine, k):
    return session.read(engine, lambda c: c.execute(
        sa.select(artifact_locks).where(
            artifact_locks.c.lock_key == locking.lock_key(k))).all())


def test_acquire_and_release(engine):
    locks = Locks(engine, wait_seconds=0)
    k = key()
    with locks.hold(k, operation="upload") as lease:
        rows = lock_rows(engine, k)
        assert len(rows) == 1
        assert rows[0].holder == lease.holder
        assert rows[0].operation == "upload"
        assert len(rows[0].lock_key) == 64
        assert rows[0].expires_at > rows[0].acquired_at
        assert lease.held
    assert lock_rows(engine, k) == []
    assert not lease.held and not lease.lost
    # Free again: taken at once, with a new holder id.
    with locks.hold(k) as again:
        assert again.holder != lease.holder


def test_released_when_the_block_raises(engine):
    locks = Locks(engine, wait_seconds=0)
    k = key()
    with pytest.raises(RuntimeError):
        with locks.hold(k):
            raise RuntimeError("boom")
    assert lock_rows(engine, k) == []


def test_keys_are_independent_and_long_keys_fit(engine):
    locks = Locks(engine, wait_seconds=0)
    long_key = ("image", "x" * 1000)
    with locks.hold(key()), locks.hold(key()), locks.hold(long_key):
        with pytest.raises(errors.Conflict):
            locks.acquire(long_key)


def test_second_holder_waits_then_gets_409(engine):
    locks = Locks(engine, wait_seconds=0.3, poll=0.02)
    k = key()
    with locks.hold(k, operation="upload"):
        start = time.monotonic()
        with pytest.raises(errors.Conflict) as info:
            locks.acquire(k, operation="update")
        waited = time.monotonic() - start
    assert 0.3 <= waited < 2.0
    err = info.value
    assert err.status == 409
    assert isinstance(err, locking.Locked)
    assert err.message == ("Image %s is locked by another operation "
                           "(upload); try again." % k[1])


def test_waiter_gets_the_lock_once_the_first_releases(engine):
    locks = Locks(engine, wait_seconds=5, poll=0.01)
    k = key()
    first = locks.acquire(k, operation="upload")
    timer = threading.Timer(0.3, first.release)
    timer.start()
    start = time.monotonic()
    with locks.hold(k, operation="update") as second:
        waited = time.monotonic() - start
        assert lock_rows(engine, k)[0].holder == second.holder
    timer.join()
    assert 0.25 <= waited < 3.0


def test_threads_of_one_process_get_the_lock_in_arrival_order(engine):
    """Waiters of one process queue: first come, first served, each
    handed the turn as its predecessor releases (no 409 for anyone)."""
    locks = Locks(engine, wait_seconds=30, poll=0.05)
    k = key()
    order = []
    first = locks.acquire(k, operation="upload")

    def waiter(n):
        with locks.hold(k, operation="update"):
            order.append(n)
    threads = []
    for n in range(6):
        threads.append(threading.Thread(target=waiter, args=(n,)))
        threads[-1].start()
        time.sleep(0.1)             # arrival order is n
    first.release()
    for t in threads:
        t.join(30)
    assert order == list(range(6))
    assert locks._queues == {}


def test_a_waiter_that_gives_up_leaves_the_queue(engine):
    """A thread of the queue whose wait ran out (409) leaves it: the one
    behind it is handed the turn at the holder's release, not after a
    lease of waiting."""
    locks = Locks(engine, wait_seconds=30, poll=0.05)
    k = key()
    first = locks.acquire(k, operation="upload")
    got = []

    def patient():
        start = time.monotonic()
        with locks.hold(k, operation="update"):
            got.append(time.monotonic() - start)
    with pytest.raises(locking.Locked):
        locks.acquire(k, operation="impatient", wait_seconds=0.2)
    behind = threading.Thread(target=patient)
    behind.start()
    time.sleep(0.2)
    with pytest.raises(locking.Locked):       # gives up between the two
        locks.acquire(k, operation="impatient", wait_seconds=0.2)
    time.sleep(0.3)
    first.release()
    behind.join(30)
    assert len(got) == 1 and got[0] < 5.0
    assert locks._queues == {}


def test_the_turn_passes_on_when_the_first_waiter_gives_up(engine):
    """The queue's first thread polls for a lock another process holds;
    when its wait runs out the next thread polls in its place (and gets
    the lock as soon as the other process lets go)."""
    other = Locks(engine, wait_seconds=0)
    locks = Locks(engine, wait_seconds=30, poll=0.05)
    k = key()
    held = other.acquire(k, operation="upload")
    failed, got = [], []

    def first():
        try:
            locks.acquire(k, operation="short", wait_seconds=0.5)
        except locking.Locked:
            failed.append(True)

    def second():
        start = time.monotonic()
        with locks.hold(k, operation="update"):
            got.append(time.monotonic() - start)
    threads = [threading.Thread(target=first), threading.Thread(
        target=second)]
    threads[0].start()
    time.sleep(0.1)
    threads[1].start()
    time.sleep(1.0)
    assert failed == [True]
    held.release()
    for t in threads:
        t.join(30)
    assert len(got) == 1 and got[0] < 5.0
    assert locks._queues == {}


def test_a_stuck_predecessor_delays_a_waiter_only_for_the_lease(engine):
    """The local queue orders but never outlasts the lease: a thread
    ahead that never releases (stuck) loses its turn with its lease."""
    locks = Locks(engine, lease_seconds=1, wait_seconds=10, poll=0.02)
    k = key()
    locks.acquire(k, operation="stuck")          # never released
    start = time.monotonic()
    with locks.hold(k, operation="update"):
        waited = time.monotonic() - start
    assert 0.9 <= waited < 5.0


def test_expired_lock_is_taken_over(engine):
    """A worker that crashed holding the lock (never released) blocks others
    only until its lease expires."""
    crashed = Locks(engine, lease_seconds=0.3, wait_seconds=0)
    k = key()
    dead = crashed.acquire(k, operation="upload")
    with pytest.raises(errors.Conflict):
        crashed.acquire(k)
    time.sleep(0.4)
    locks = Locks(engine, wait_seconds=0)
    with locks.hold(k, operation="delete") as lease:
        row = lock_rows(engine, k)[0]
        assert row.holder == lease.holder != dead.holder
        assert row.operation == "delete"


def test_old_holders_release_leaves_the_new_lock_alone(engine):
    old_locks = Locks(engine, lease_seconds=0.3, wait_seconds=0)
    k = key()
    old = old_locks.acquire(k, operation="upload")
    time.sleep(0.4)
    locks = Locks(engine, wait_seconds=0)
    with locks.hold(k, operation="update") as new:
        assert old.release() is False
        assert old.lost
        rows = lock_rows(engine, k)
        assert [r.holder for r in rows] == [new.holder]
        with pytest.raises(errors.Conflict):
            locks.acquire(k)


def test_purge_expired(engine):
    locks = Locks(engine, lease_seconds=0.2, wait_seconds=0)
    k1, k2 = key(), key()
    locks.acquire(k1)
    time.sleep(0.3)
    live = Locks(engine, lease_seconds=30).acquire(k2)
    assert locks.purge_expired() >= 1
    assert lock_rows(engine, k1) == []
    assert [r.holder for r in lock_rows(engine, k2)] == [live.holder]
    live.release()


# ----------------------------------------------------------- no lost updates

def _increment(engine, counter_id):
    """Read-modify-write in two separate transactions: only the lock keeps
    two of these from reading the same value."""
    value = session.read(engine, lambda c: c.execute(
        sa.select(counter.c.value).where(counter.c.id == counter_id))
        .scalar_one())
    time.sleep(0.001)
    session.transaction(engine, lambda c: c.execute(
        counter.update().where(counter.c.id == counter_id)
        .values(value=value + 1)))


def _new_counter(engine):
    counter_id = uuid.uuid4().hex
    session.transaction(engine, lambda c: c.execute(
        counter.insert().values(id=counter_id, value=0)))
    return counter_id


def _counter_value(engine, counter_id):
    return session.read(engine, lambda c: c.execute(
        sa.select(counter.c.value).where(counter.c.id == counter_id))
        .scalar_one())


def test_threads_lose_no_increments(engine):
    threads, rounds = 16, 8
    locks = Locks(engine, wait_seconds=20, poll=0.005)
    counter_id = _new_counter(engine)
    k = ("counter", counter_id)
    failures = []
    start = threading.Barrier(threads)

    def work():
        try:
            start.wait()
            for _ in range(rounds):
                with locks.hold(k, operation="increment"):
                    _increment(engine, counter_id)
        except Exception as err:  # noqa: BLE001
            failures.append(err)
    pool = [threading.Thread(target=work) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert failures == []
    assert _counter_value(engine, counter_id) == threads * rounds
    assert lock_rows(engine, k) == []


def _process_worker(url, counter_id, rounds, go):
    engine = session.make_engine(url, pool_size=2)
    try:
        locks = Locks(engine, wait_seconds=20, poll=0.005)
        go.wait(30)             # all started: they contend from the start
        for _ in range(rounds):
            with locks.hold(("counter", counter_id), operation="increment"):
                _increment(engine, counter_id)
    finally:
        engine.dispose()


def test_processes_lose_no_increments(db):
    url, engine = db
    processes, rounds = 4, 15
    counter_id = _new_counter(engine)
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Barrier(processes)
    pool = [ctx.Process(target=_process_worker,
                        args=(url, counter_id, rounds, go))
            for _ in range(processes)]
    for p in pool:
        p.start()
    for p in pool:
        p.join(60)
    assert [p.exitcode for p in pool] == [0] * processes
    assert _counter_value(engine, counter_id) == processes * rounds
