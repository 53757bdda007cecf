"""Watch hygiene under faults the server (or a proxy in front of it) can produce: the
informer must neither hammer the server nor call itself live on an HTTP 200 alone, and a
change made during a black-holed watch must still arrive.

Each test runs one informer with the default backoff against the API server double with a
standing fault, counts the requests it sends, and checks the rate stays below a few per
second (before these rules: 1,242-1,395 req/s on an empty watch body, 968 req/s on
Retry-After: 0)."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import datetime, timezone

import pytest

from kataview.demo.apiserver import ApiServerDouble
from kataview.kube.cluster import ClusterWatcher
from kataview.kube.connection import ConnectionSettings, connect
from kataview.kube.informer import Backoff, Informer

from test_kube_informer import pod, requests_for, running, until

WINDOW = 4.0  # seconds a fault is watched for
pytestmark = pytest.mark.usefixtures("isolated_home")  # HOME and XDG in tmp, no KUBECONFIG


@pytest.fixture
async def api():
    async with ApiServerDouble([pod(f"p{i}") for i in range(5)]) as server:
        yield server


@pytest.fixture
async def connection(api, tmp_path):
    path = api.write_kubeconfig(tmp_path / "kubeconfig")
    async with await connect(ConnectionSettings(str(path), None)) as conn:
        yield conn


def informer_for(connection, **options) -> Informer:
    return Informer("pods", "/api/v1/pods", connection.transport, **options)


async def rate_under(api, informer: Informer, seconds: float = WINDOW) -> float:
    """Requests per second the informer sends on pods during `seconds`."""
    before = len([r for r in api.requests if r.resource == "pods"])
    await asyncio.sleep(seconds)
    return (len([r for r in api.requests if r.resource == "pods"]) - before) / seconds


@pytest.mark.parametrize("body", ["empty", "junk"])
async def test_a_watch_that_ends_at_once_backs_off_and_is_not_live(api, connection, body):
    informer = informer_for(connection)
    api.faults.watch_body("pods", body)
    async with running(informer):
        await until(lambda: informer.synced and informer.failures, what="first failed watch")
        rate = await rate_under(api, informer)
        assert rate < 2.0, f"{rate:.0f} requests/s on a watch answered with {body}"
        assert informer.status == "reconnecting"
        assert "ended the watch" in informer.error
        api.faults.watch_body("pods", None)
        added = api.store.apply(pod("after-the-fault"))
        await until(lambda: added["metadata"]["uid"] in informer.store, timeout=20,
                    what="recovery")
        assert informer.status == "live"


async def test_retry_after_zero_is_clamped_to_a_second(api, connection):
    api.faults.throttle("pods", retry_after=0, times=10**6)
    informer = informer_for(connection)
    async with running(informer):
        await until(lambda: informer.failures, what="first 429")
        rate = await rate_under(api, informer)
        assert rate <= 1.3, f"{rate:.1f} requests/s on Retry-After: 0"


async def test_retry_after_of_a_day_waits_a_minute_at_most(api, connection):
    api.faults.throttle("pods", retry_after=86400, times=1)
    informer = informer_for(connection)
    async with running(informer):
        await until(lambda: informer.retry_at is not None, what="the 429")
        wait = (informer.retry_at - datetime.now(timezone.utc)).total_seconds()
        assert 1.0 <= wait <= 60.0


async def test_a_200_alone_is_not_live(api, connection):
    """After a failure, a watch the server accepts but never feeds keeps the informer
    reconnecting: only an event or a bookmark proves the watch works."""
    informer = informer_for(connection, bookmark_interval=30.0)
    async with running(informer):
        await until(lambda: informer.watches == 1, what="first watch")
        api.faults.watch_body("pods", "silent")
        api.faults.drop_watches()
        await until(lambda: informer.watches >= 2, timeout=5, what="re-watch accepted")
        await asyncio.sleep(0.3)
        assert informer.status == "reconnecting"


async def test_a_pod_added_during_a_black_hole_appears(api, connection):
    """Every watch is accepted and then silent: the informer drops a watch silent for two
    bookmark intervals and, after two of those, lists again."""
    bookmark = 0.25  # the double's bookmark interval, shortened; the informer's own limit
    informer = informer_for(connection, bookmark_interval=bookmark,
                            backoff=Backoff(initial=0.2, cap=1.0))
    api.faults.watch_body("pods", "silent")
    async with running(informer):
        await until(lambda: informer.watches == 1, what="first watch")
        added = api.store.apply(pod("during-the-black-hole"))
        started = time.monotonic()
        # bound: two silent watches (2 x 2 x bookmark), two backoffs (<= 0.2 + 0.4), a list
        await until(lambda: added["metadata"]["uid"] in informer.store, timeout=4.0,
                    what="the pod added during the black hole")
        took = time.monotonic() - started
        assert informer.lists == 2
        rate = await rate_under(api, informer, 2.0)
        assert rate < 3.0
    assert took < 4.0


async def test_a_flapping_watch_writes_few_log_lines(api, connection, caplog):
    """Watches accepted and dropped at once, for every kind: one line per message, then
    at most one repeat a minute (before: two lines per informer per attempt)."""
    api.faults.watch_body("*", "abort")
    caplog.set_level(logging.INFO, logger="kataview.kube")
    watcher = ClusterWatcher(connection, informer_options={
        "backoff": Backoff(initial=0.05, cap=0.1), "min_watch_gap": 0.05})
    async with watcher:
        await until(lambda: all(i.synced for i in watcher.informers.values()), what="sync")
        await asyncio.sleep(3.0)
    watches = len([r for r in api.requests if r.verb == "watch"])
    lines = [r for r in caplog.records if r.name.startswith("kataview.kube")]
    assert watches > 50  # the fault really repeated
    assert len(lines) <= 4, "\n".join(r.getMessage() for r in lines)
