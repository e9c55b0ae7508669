"""artifacts.instance: a process's id, and the proof that it died."""

import os
import signal
import subprocess
import sys
import time

import pytest

from artifacts import instance

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__))))
CHILD = ("import sys, time; from artifacts import instance; "
         "print(instance.current(), flush=True); "
         "time.sleep(float(sys.argv[1]))")

pytestmark = pytest.mark.skipif(not os.path.exists("/proc/self/stat"),
                                reason="needs Linux /proc")


def child(seconds):
    """A Python child that prints its instance id and sleeps."""
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(seconds)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=ROOT))
    return proc, proc.stdout.readline().strip()


def test_the_id_names_host_tag_pid_and_start():
    me = instance.current()
    assert me == instance.current()
    assert len(me) <= 64
    tag, pid, start = instance.parse(me)
    assert tag == instance.host_tag() and len(tag) == 16
    assert pid == os.getpid() and start.isdigit()
    assert not instance.is_dead(me)


def test_a_process_that_exited_is_dead():
    proc, holder = child(0)
    proc.wait()
    assert instance.parse(holder)[1] == proc.pid
    assert instance.is_dead(holder)


def test_a_live_process_is_alive_until_killed():
    proc, holder = child(60)
    try:
        assert not instance.is_dead(holder)
        os.kill(proc.pid, signal.SIGKILL)
        # Killed but not yet reaped: a zombie is dead too.
        deadline = time.time() + 5
        while not instance.is_dead(holder) and time.time() < deadline:
            time.sleep(0.01)
        assert instance.is_dead(holder)
    finally:
        proc.kill()
        proc.wait()
    assert instance.is_dead(holder)


def test_a_reused_pid_does_not_keep_a_dead_holder_alive():
    # Our parent is alive, but it is not the process that started at 1.
    tag = instance.host_tag()
    assert instance.is_dead("h/%s/%d/1" % (tag, os.getppid()))
    me = instance.parse(instance.current())
    assert instance.is_dead("h/%s/%d/%d" % (tag, os.getpid(),
                                            int(me[2]) + 1))


@pytest.mark.parametrize("holder", [
    None, "", "garbage", "h/0123456789abcdef/1/2",   # another host
    "h/-/1/2",                                       # a host without /proc
    "h/%s/notapid/2",
])
def test_what_cannot_be_proven_dead_is_alive(holder):
    if holder and "%s" in holder:
        holder = holder % instance.host_tag()
    assert not instance.is_dead(holder)
    assert instance.dead([holder]) == set()


def test_a_forked_child_gets_its_own_id():
    me = instance.current()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # the child
        os.close(read)
        os.write(write, instance.current().encode())
        os._exit(0)
    os.close(write)
    theirs = os.read(read, 200).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert theirs != me and instance.parse(theirs)[1] == pid
    assert instance.is_dead(theirs)
