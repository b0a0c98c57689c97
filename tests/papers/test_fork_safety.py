"""Forks of a worker's main process (the pool's processes) inherit nothing half done."""

import os
import threading
import time

from papers import background
from search.backends import base as search_backends


def _in_a_fork(check) -> bool:
    """Fork; the child reports check() as it sees it and exits at once."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child
        os.write(write, b"1" if check() else b"0")
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    answer = os.read(read, 1)
    os.close(read)
    return answer == b"1"


def test_a_fork_waits_until_the_recovery_check_under_way_is_done(monkeypatch):
    started, state = threading.Event(), {"done": False}

    def slow_check():
        started.set()
        time.sleep(0.5)
        state["done"] = True

    monkeypatch.setattr(background, "recover", slow_check)
    loop = background.RecoveryLoop(3600)
    loop.start()
    try:
        assert started.wait(10)
        assert not state["done"]  # the check is under way as we fork
        assert _in_a_fork(lambda: state["done"])
    finally:
        loop.stop()


def test_a_forked_process_opens_its_own_search_backend():
    search_backends.get_search_backend()
    assert search_backends._backends
    assert _in_a_fork(lambda: not search_backends._backends)
