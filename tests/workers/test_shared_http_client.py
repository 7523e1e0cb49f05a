"""The worker's HTTP client is made when a desk or a media download first needs it, once."""

from __future__ import annotations

import threading

import httpx

from workers.delivery.desks.shared_client import SharedClient


def test_no_client_is_made_until_one_is_asked_for() -> None:
    shared = SharedClient()
    assert not shared.made
    client = shared()
    try:
        assert shared.made
        assert isinstance(client, httpx.Client)
        assert not client.follow_redirects  # desks never follow redirects
    finally:
        shared.close()


def test_threads_asking_at_once_share_one_client() -> None:
    # Given a shared client not made yet, and eight threads released together
    shared = SharedClient()
    start = threading.Barrier(8)
    got: list[httpx.Client] = []

    def ask() -> None:
        start.wait()
        got.append(shared())

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    try:
        # Then every thread has the same client
        assert len(got) == 8
        assert len({id(client) for client in got}) == 1
    finally:
        shared.close()
