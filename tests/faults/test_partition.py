"""Two worker hosts, one cut off from the network mid-drain and back 30 s later (docs/reliability.md).

Each host is a network namespace joined to this one by a veth pair, running its own `qcluster`
against the shared PostgreSQL and Redis (scripts/faults.sh starts them listening beyond loopback)
and the sandbox. Cutting a host's link leaves its workers holding leases they cannot renew; the
other host sends what they held once the leases run out. Needs root and `ip`: elsewhere it is
skipped, with the reason.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from delivery.outbox.sending import SEND_CONCURRENCY
from tests.faults.harness import (
    HOST_LOST_RECOVERY_BOUND_SECONDS,
    SIZES,
    IngestClient,
    events_for,
    qcluster_env,
    stage,
    workers_ready,
)
from tests.live_receiver import QCluster, shared_database_url

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

WORKERS = 2


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True, timeout=10)


@contextmanager
def host(name: str, subnet: str) -> Iterator[tuple[str, str]]:
    """A network namespace `name` linked to this one; yields (our address there, our link's name)."""
    ours, theirs = f"{name}h", f"{name}n"
    _ip("netns", "add", name)
    try:
        _ip("link", "add", ours, "type", "veth", "peer", "name", theirs)
        _ip("link", "set", theirs, "netns", name)
        _ip("addr", "add", f"{subnet}.1/24", "dev", ours)
        _ip("link", "set", ours, "up")
        _ip("netns", "exec", name, "ip", "addr", "add", f"{subnet}.2/24", "dev", theirs)
        _ip("netns", "exec", name, "ip", "link", "set", theirs, "up")
        _ip("netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield f"{subnet}.1", ours
    finally:
        subprocess.run(["ip", "link", "del", ours], capture_output=True, timeout=10)
        subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)


class HostedQCluster(QCluster):
    """A qcluster run inside a network namespace, reaching the servers at this side's address."""

    def __init__(self, log_path: Path, namespace: str, address: str, **env: str) -> None:
        super().__init__(log_path, **env)
        self.namespace = namespace
        self.env["DATABASE_URL"] = shared_database_url().replace("@127.0.0.1:", f"@{address}:")
        self.env["REDIS_URL"] = os.environ["REDIS_URL"].replace("//127.0.0.1:", f"//{address}:")

    def start(self) -> HostedQCluster:
        with open(self.log_path, "ab") as log:
            # `ip netns exec` execs the command, so the process (and its group) is the qcluster itself.
            self.process = subprocess.Popen(
                ["ip", "netns", "exec", self.namespace, sys.executable, "manage.py", "qcluster"],
                cwd=settings.BASE_DIR, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        return self


def _why_not() -> str | None:
    if connection.vendor != "postgresql" or not os.environ.get("REDIS_URL"):
        return "two hosts share PostgreSQL and Redis: this run uses SQLite with the ORM broker"
    if not os.environ.get("FAULTS_PG_RESTART"):
        return "needs the servers of scripts/faults.sh (make faults), which listen beyond loopback"
    if os.geteuid() != 0:
        return "network namespaces need root"
    if not shutil.which("ip"):
        return "network namespaces need `ip` (iproute2)"
    return None


def test_a_worker_host_cut_off_mid_drain_loses_nothing_and_the_other_sends_its_share(tmp_path: Path) -> None:
    reason = _why_not()
    if reason:
        print(f"\nSKIPPED two worker hosts: {reason}")
        pytest.skip(reason)
    tag = f"cbf{os.getpid() % 10000}"
    net = 10 + os.getpid() % 100 * 2
    with (stage(tmp_path, events=SIZES.events, sandbox_host="0.0.0.0", delivery_enabled=False, latency_ms=100,
                start_workers=False) as (run, web, _),
          host(f"{tag}a", f"10.213.{net}") as (address_a, link_a),
          host(f"{tag}b", f"10.213.{net + 1}") as (address_b, _link_b)):
        port = run.sandbox.server_address[1]
        hosts = [HostedQCluster(tmp_path / f"host-{name}.log", f"{tag}{name}", address,
                                **qcluster_env(f"http://{address}:{port}/event_service/v2/level"))
                 for name, address in (("a", address_a), ("b", address_b))]
        try:
            for cluster in hosts:
                cluster.start()
            workers_ready()
            IngestClient(web, run.app, run.api_key).post_all(events_for(SIZES.events))
            time.sleep(3)
            run.delivery_enable()
            run.wait_arrived(SIZES.events // 3)
            _ip("link", "set", link_a, "down")
            time.sleep(SIZES.cut_seconds)
            _ip("link", "set", link_a, "up")
            restored = time.monotonic()
            run.finish(scenario="a worker host cut off mid-drain", fault_ended=restored,
                       injected=f"one of two worker hosts (network namespaces) cut off for {SIZES.cut_seconds:g} s",
                       repeats_bound=WORKERS * SEND_CONCURRENCY, recover_bound=HOST_LOST_RECOVERY_BOUND_SECONDS)
        finally:
            for cluster in hosts:
                cluster.kill()
