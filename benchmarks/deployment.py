"""`make bench`: what a deployment runs, measured in one run and printed as one table.

Everything runs as it would in production, on this box: gunicorn (2 sync workers,
DEBUG=false) on a SQLite file in WAL mode, `manage.py qcluster` with its default workers,
and a receiver with a fixed latency standing in for Chartboost (`benchmarks/receiver.py`).
Every row of the table comes from the same run:

- ingest: batches of 500 events over HTTP, one client, then two at once;
- drain: a backlog of deliveries (one per event) sent by qcluster once its app is switched
  on; the rate is that of the middle 80 % of arrivals, so start-up and the tail do not count;
- the seed's own sender (one `requests.post` per event, in sequence) against the same
  receiver, and a bare client's ceiling (threads over keep-alive sessions): our share of each;
- ingest -> receiver latency at a steady rate in batches of 10;
- sustained streams: a batch every 50 ms, offered by 8 clients so a slow answer never lowers
  the rate, for a while at each rate; latency is from when each batch was due to when its
  event reached the receiver, and what had not arrived 5 s after the last batch was due;
- the peak resident set of a qcluster process while draining, and of a gunicorn worker
  while ingesting;
- the mapping simulator (`POST /api/v1/apps/{id}/simulate/`) over a day of a busy app's stored
  events (100,000 by default, `benchmarks/busy_day.py`): the median of a few answers.

    .venv/bin/python -m benchmarks.deployment [--help]

Sizes, rates and the latency are flags (and BENCH_* environment variables: see --help).
No figure is asserted: the table is the result.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parent.parent
SECRET_KEY = "bench-secret-key-long-and-random-enough-Qm4x9TzR7vLp2sWn8yBc-0123456789"
TOKEN_KEY = "rQ0J1Bq8kYbT8yM7m3Zy2cAqQ1m9o3c8M3oV2r9h0bE="
BATCH = 500


def _env_number(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


def options_parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.deployment", description="What a deployment runs, "
                                     "measured in one run.")
    add = parser.add_argument
    add("--ingest-batches", type=int, default=int(_env_number("BENCH_INGEST_BATCHES", 20)),
        help="batches of 500 per ingest client (BENCH_INGEST_BATCHES, default 20)")
    add("--backlog", type=int, default=int(_env_number("BENCH_BACKLOG", 6000)),
        help="events in the backlog drained by qcluster (BENCH_BACKLOG, default 6000)")
    add("--latency-ms", type=float, default=_env_number("BENCH_LATENCY_MS", 50),
        help="the receiver's latency (BENCH_LATENCY_MS, default 50)")
    add("--seed-seconds", type=float, default=_env_number("BENCH_SEED_SECONDS", 5),
        help="how long the seed's sender and the bare client run (BENCH_SEED_SECONDS, default 5)")
    add("--ceiling-threads", type=int, default=64, help="threads of the bare client (default 64)")
    add("--latency-rate", type=float, default=_env_number("BENCH_LATENCY_RATE", 100),
        help="events/s of the latency stream, in batches of 10 (BENCH_LATENCY_RATE, default 100)")
    add("--latency-seconds", type=float, default=_env_number("BENCH_LATENCY_SECONDS", 20),
        help="how long the latency stream runs (BENCH_LATENCY_SECONDS, default 20)")
    add("--rates", default=os.environ.get("BENCH_RATES", "300,500"),
        help="events/s of the sustained streams, a batch every 50 ms (BENCH_RATES, default 300,500)")
    add("--sustained-seconds", type=float, default=_env_number("BENCH_SUSTAINED_SECONDS", 60),
        help="how long each sustained stream runs (BENCH_SUSTAINED_SECONDS, default 60)")
    add("--ports", default=os.environ.get("BENCH_PORTS", "8500-8519"),
        help="ports to take the receiver's and gunicorn's from (BENCH_PORTS, default 8500-8519)")
    add("--simulate-events", type=int, default=int(_env_number("BENCH_SIMULATE_EVENTS", 100_000)),
        help="stored events the simulator reads, over a day (BENCH_SIMULATE_EVENTS, default 100000; 0 skips it)")
    add("--simulate-devices", type=int, default=int(_env_number("BENCH_SIMULATE_DEVICES", 20_000)),
        help="devices those events come from (BENCH_SIMULATE_DEVICES, default 20000)")
    add("--simulate-requests", type=int, default=3, help="simulator answers timed; the median is shown (default 3)")
    add("--json", type=Path, help="also write the figures here, as JSON")
    add("--keep", action="store_true", help="keep the working folder (database, logs)")
    add("--ingest-only", action="store_true", help="measure ingest alone (to profile the web process)")
    return parser.parse_args(argv)


# ---- processes ----------------------------------------------------------------------


def free_ports(spec: str, count: int) -> list[int]:
    first, _, last = spec.partition("-")
    found = []
    for port in range(int(first), int(last or first) + 1):
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        found.append(port)
        if len(found) == count:
            return found
    raise SystemExit(f"Not {count} free ports in {spec}.")


def port_wait(port: int, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"A process meant to listen on {port} exited ({process.returncode}).")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"Nothing listened on {port} within {timeout:.0f} s.")


@contextmanager
def started(command: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """A process in its own group, stopped (SIGTERM, then SIGKILL after 5 s) on the way out."""
    with open(log, "ab") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        process.wait(timeout=10)


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(parent, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def peak_rss_mib(pids: list[int]) -> float:
    """The largest resident high-water mark (VmHWM) among these processes, in MiB."""
    peak = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak = max(peak, int(line.split()[1]))
        except OSError:
            continue
    return peak / 1024


# ---- what is sent -------------------------------------------------------------------


def device(tag: int, number: int) -> str:
    return f"{tag:08x}{number:024x}"


def events_body(tag: int, numbers: range, *, timestamp: int) -> bytes:
    events = [
        {"event_id": f"{tag}-{n}", "name": "level_complete", "timestamp": timestamp, "platform": "iOS 17.4",
         "identifiers": {"ifa": device(tag, n)},
         "properties": {"level": n % 50 + 1, "stage": 2, "area": "Lunar Caverns"}}
        for n in numbers
    ]
    return json.dumps({"events": events}).encode()


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else float("nan")


@dataclass
class Site:
    url: str
    receiver: str
    keys: dict[str, str] = field(default_factory=dict)
    apps: dict[str, int] = field(default_factory=dict)

    def ingest_url(self, app: str) -> str:
        return f"{self.url}/api/v1/apps/{self.apps[app]}/events/"

    def post(self, session: requests.Session, app: str, body: bytes) -> None:
        response = session.post(self.ingest_url(app), data=body, timeout=60, headers={
            "Authorization": f"Bearer {self.keys[app]}", "Content-Type": "application/json"})
        if response.status_code != 202:
            raise SystemExit(f"Ingest answered {response.status_code}: {response.text[:300]}")

    def arrivals(self) -> list[tuple[float, str, int]]:
        return [tuple(row) for row in requests.get(f"{self.receiver}/arrivals", timeout=30).json()]

    def arrivals_reset(self) -> None:
        requests.post(f"{self.receiver}/reset", timeout=10)


# ---- the measurements ---------------------------------------------------------------


def ingest_rate(site: Site, *, clients: int, batches: int, tag: int) -> float:
    timestamp = int(time.time()) - 60
    bodies = [[events_body(tag + c, range(b * BATCH, (b + 1) * BATCH), timestamp=timestamp) for b in range(batches)]
              for c in range(clients)]
    barrier = threading.Barrier(clients + 1)

    def client(own: list[bytes]) -> None:
        with requests.Session() as session:
            barrier.wait()
            for body in own:
                site.post(session, "ingest", body)

    threads = [threading.Thread(target=client, args=(own,)) for own in bodies]
    for thread in threads:
        thread.start()
    barrier.wait()
    started_at = time.perf_counter()
    for thread in threads:
        thread.join()
    return clients * batches * BATCH / (time.perf_counter() - started_at)


def seed_sender_rate(site: Site, seconds: float) -> float:
    """The seed's sender: one `requests.post` per event, a new connection each, in sequence."""
    body = {"track_info": [], "platform": "iOS", "timestamp": 0, "identifiers": {"ifa": "seed"}}
    sent, ends = 0, time.monotonic() + seconds
    started_at = time.monotonic()
    while time.monotonic() < ends:
        requests.post(f"{site.receiver}/seed", json=body, timeout=10)
        sent += 1
    return sent / (time.monotonic() - started_at)


def ceiling_rate(site: Site, seconds: float, threads: int) -> float:
    """A bare client: `threads` threads, each over its own keep-alive session."""
    body = json.dumps({"track_info": [], "identifiers": {"ifa": "ceiling"}}).encode()
    counts = [0] * threads
    ends = time.monotonic() + seconds

    def client(index: int) -> None:
        with requests.Session() as session:
            while time.monotonic() < ends:
                session.post(f"{site.receiver}/ceiling", data=body, timeout=10)
                counts[index] += 1

    started_at = time.monotonic()
    pool = [threading.Thread(target=client, args=(i,)) for i in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return sum(counts) / (time.monotonic() - started_at)


@dataclass
class StreamResult:
    events: int
    p50_ms: float
    p99_ms: float
    max_ms: float
    late_after_5s: int
    offered_per_second: float
    # From when each batch was due to when ingest answered it: what of the latency is the web side.
    answered_p50_ms: float = float("nan")
    answered_p99_ms: float = float("nan")


def stream(site: Site, *, app: str, rate: float, interval: float, seconds: float, tag: int,
           clients: int = 8) -> StreamResult:
    """Offer `rate` events/s as a batch every `interval` s for `seconds`; latency from each batch's due time."""
    per_batch = max(1, round(rate * interval))
    count = int(seconds / interval)
    due: dict[str, float] = {}
    work: queue.Queue[tuple[float, bytes] | None] = queue.Queue()
    timestamp = int(time.time()) - 60
    bodies = [events_body(tag, range(b * per_batch, (b + 1) * per_batch), timestamp=timestamp) for b in range(count)]

    answered: list[float] = []

    def client() -> None:
        with requests.Session() as session:
            while (job := work.get()) is not None:
                site.post(session, app, job[1])
                answered.append((time.time() - job[0]) * 1000)

    pool = [threading.Thread(target=client) for _ in range(clients)]
    for thread in pool:
        thread.start()
    start = time.time() + 0.2
    for b, body in enumerate(bodies):
        at = start + b * interval
        time.sleep(max(0.0, at - time.time()))
        for n in range(b * per_batch, (b + 1) * per_batch):
            due[device(tag, n)] = at
        work.put((at, body))
    last_due = start + (count - 1) * interval
    for _ in pool:
        work.put(None)
    for thread in pool:
        thread.join()
    # Wait for the stragglers (up to 60 s), then read when each event arrived.
    deadline = time.time() + 60
    arrived: dict[str, float] = {}
    while True:
        arrived = {d: t for t, d, _ in site.arrivals() if d in due}
        if len(arrived) >= len(due) or time.time() > deadline:
            break
        time.sleep(0.5)
    latencies = [(arrived[d] - due[d]) * 1000 for d in due if d in arrived]
    late = sum(1 for d in due if d not in arrived or arrived[d] > last_due + 5)
    return StreamResult(len(due), percentile(latencies, 0.5), percentile(latencies, 0.99),
                        max(latencies, default=float("nan")), late, len(due) / (last_due + interval - start),
                        percentile(answered, 0.5), percentile(answered, 0.99))


def simulate_timings(site: Site, requests_count: int, *, matched: int) -> list[float]:
    """Seconds each simulator answer took over HTTP, from the request to the whole body."""
    from benchmarks.busy_day import DRAFT  # Django is set up only once the run's environment is.

    timings = []
    with requests.Session() as session:
        for _ in range(requests_count):
            started = time.perf_counter()
            response = session.post(f"{site.url}/api/v1/apps/{site.apps['simulate']}/simulate/", timeout=120,
                                    json={"mappings": [DRAFT], "days": 1},
                                    headers={"Authorization": f"Bearer {site.keys['simulate']}"})
            timings.append(time.perf_counter() - started)
            if response.status_code != 200:
                raise SystemExit(f"Simulate answered {response.status_code}: {response.text[:300]}")
            if response.json()["results"][0]["matched"] != matched:
                raise SystemExit(f"Simulate matched {response.json()['results'][0]['matched']} of {matched} events.")
    return timings


def drain_rate(site: Site, *, backlog: int, switch_on: Callable[[], None], tag: int) -> tuple[float, float]:
    """(deliveries/s over the middle 80 % of arrivals, seconds until the last one arrived)."""
    site.arrivals_reset()
    started_at = time.time()
    switch_on()
    deadline = time.time() + max(120.0, backlog / 20)
    wanted = {device(tag, n) for n in range(backlog)}
    while True:
        times = sorted(t for t, d, _ in site.arrivals() if d in wanted)
        if len(times) >= backlog or time.time() > deadline:
            break
        time.sleep(0.5)
    if len(times) < backlog:
        raise SystemExit(f"Only {len(times)} of {backlog} deliveries arrived.")
    low, high = times[int(0.1 * backlog)], times[int(0.9 * backlog) - 1]
    return (0.8 * backlog - 1) / max(high - low, 1e-9), times[-1] - started_at


# ---- the run ------------------------------------------------------------------------


def production_env(database: Path, receiver_url: str) -> dict[str, str]:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "trackerui.settings",
        "DEBUG": "false",
        "SECRET_KEY": SECRET_KEY,
        "TOKEN_ENCRYPTION_KEY": TOKEN_KEY,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",
        "DATABASE_URL": f"sqlite:///{database}",
        "CHARTBOOST_ENDPOINT": f"{receiver_url}/event_service/v2/level",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    for name in ("REDIS_URL",):
        env.pop(name, None)
    return env


def load() -> str:
    return " / ".join(f"{value:.2f}" for value in os.getloadavg())


def run(options: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-", dir=ROOT / ".bench") if (ROOT / ".bench").is_dir()
                else tempfile.mkdtemp(prefix="cb-bench-"))
    receiver_port, web_port = free_ports(options.ports, 2)
    receiver_url = f"http://127.0.0.1:{receiver_port}"
    env = production_env(work / "db.sqlite3", receiver_url)
    os.environ.update(env)
    os.environ.pop("REDIS_URL", None)
    figures: dict[str, Any] = {"load_before": load()}
    python = sys.executable
    print(f"working in {work}; load {figures['load_before']}", flush=True)
    subprocess.run([python, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True)
    subprocess.run([python, "manage.py", "createcachetable"], cwd=ROOT, env=env, check=True)
    site = Site(url=f"http://127.0.0.1:{web_port}", receiver=receiver_url)
    apps = bench_apps_create(site)

    receiver_cmd = [python, "-m", "benchmarks.receiver", "--port", str(receiver_port),
                    "--latency-ms", str(options.latency_ms)]
    gunicorn_cmd = [python, "-m", "gunicorn", "trackerui.wsgi", "--config", "gunicorn.conf.py", "--workers", "2",
                    "--bind", f"127.0.0.1:{web_port}"]
    with started(receiver_cmd, env, work / "receiver.log") as receiver, \
            started(gunicorn_cmd, env, work / "gunicorn.log") as gunicorn:
        port_wait(receiver_port, receiver)
        port_wait(web_port, gunicorn)
        # Warm both web workers up.
        ingest_rate(site, clients=2, batches=1, tag=900)
        print("ingest ...", flush=True)
        figures["ingest_one"] = ingest_rate(site, clients=1, batches=options.ingest_batches, tag=1000)
        figures["ingest_two"] = ingest_rate(site, clients=2, batches=options.ingest_batches, tag=2000)
        figures["web_rss_mib"] = peak_rss_mib(descendants(gunicorn.pid))
        figures["load_ingest"] = load()
        if options.ingest_only:
            print(f"ingest: {figures['ingest_one']:,.0f} events/s one client, {figures['ingest_two']:,.0f} two")
            return figures
        apps.ingest_settle()
        print("backlog ...", flush=True)
        timestamp = int(time.time()) - 60
        with requests.Session() as session:
            for start in range(0, options.backlog, BATCH):
                site.post(session, "drain", events_body(3000, range(start, min(start + BATCH, options.backlog)),
                                                        timestamp=timestamp))
        apps.queue_empty()
        with started([python, "manage.py", "qcluster"], env, work / "qcluster.log") as cluster:
            apps.cluster_wait()
            print("drain ...", flush=True)
            figures["drain"], figures["drain_seconds"] = drain_rate(
                site, backlog=options.backlog, switch_on=apps.drain_on, tag=3000)
            figures["worker_rss_mib"] = peak_rss_mib(descendants(cluster.pid))
            figures["load_drain"] = load()
            print("seed's sender and a bare client ...", flush=True)
            figures["seed"] = seed_sender_rate(site, options.seed_seconds)
            figures["ceiling"] = ceiling_rate(site, options.seed_seconds, options.ceiling_threads)
            print(f"latency at {options.latency_rate:g} events/s ...", flush=True)
            figures["latency"] = stream(site, app="stream", rate=options.latency_rate,
                                        interval=10 / options.latency_rate, seconds=options.latency_seconds,
                                        tag=4000).__dict__
            figures["load_latency"] = load()
            for index, rate in enumerate(float(r) for r in options.rates.split(",") if r):
                print(f"sustained {rate:g} events/s ...", flush=True)
                result = stream(site, app="stream", rate=rate, interval=0.05, seconds=options.sustained_seconds,
                                tag=5000 + index)
                figures[f"sustained_{rate:g}"] = {**result.__dict__, "load": load()}
            figures["worker_rss_mib_end"] = peak_rss_mib(descendants(cluster.pid))
        if options.simulate_events:
            print(f"simulate over {options.simulate_events:,} stored events ...", flush=True)
            apps.simulate_app_create(events=options.simulate_events, devices=options.simulate_devices)
            figures["simulate_seconds"] = simulate_timings(site, options.simulate_requests,
                                                           matched=options.simulate_events)
    figures["load_after"] = load()
    figures["work"] = str(work)
    if not options.keep:
        for path in sorted(work.iterdir()):
            if path.suffix != ".log":
                path.unlink()
    return figures


class BenchApps:
    """The run's apps, each in its own organization, through the services (Django set up in this process)."""

    def __init__(self, site: Site) -> None:
        import django  # Django is set up only once the run's environment is.

        django.setup()
        self.site = site

    def create(self, name: str, *, fields: tuple[int, ...], enabled: bool = True) -> None:
        from mappings.services import mapping_create
        from tests.factories import AppFactory
        from trackerui.accounts.services import api_key_create

        app = AppFactory(name=f"bench {name}", delivery_enabled=enabled)
        for event_field in fields:
            if event_field in (1, 3, 4):
                mapping_create(app=app, event_name="level_complete", event_field=event_field,
                               main_level_property="level", sub_level_property="stage")
            else:
                mapping_create(app=app, event_name="level_complete", event_field=event_field,
                               description_property="area")
        _, key = api_key_create(organization=app.organization)
        self.site.apps[name], self.site.keys[name] = app.pk, key

    def simulate_app_create(self, *, events: int, devices: int) -> None:
        """An app of its own with a busy day of stored events (benchmarks/busy_day.py), and a key."""
        from benchmarks.busy_day import busy_day_store

        self.create("simulate", fields=())
        busy_day_store(self.app("simulate"), events=events, devices=devices)

    def app(self, name: str) -> Any:
        from mappings.models import App

        return App.objects.get(pk=self.site.apps[name])

    def ingest_settle(self) -> None:
        """The ingest app's deliveries are not sent: end them (archived), so the drain is the backlog alone."""
        from delivery.outbox import state
        from mappings.models import App

        app = App.objects.get(pk=self.site.apps["ingest"])
        app.delivery_enabled = False
        app.save(update_fields=["delivery_enabled"])
        state.deliveries_archive(app_id=self.site.apps["ingest"])

    def queue_empty(self) -> None:
        from django_q.models import OrmQ

        OrmQ.objects.all().delete()

    def cluster_wait(self) -> None:
        from delivery.models import WorkerLease

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if WorkerLease.objects.filter(name="dispatcher", holder__gt="").exclude(holder="starting").exists():
                time.sleep(1)
                return
            time.sleep(0.2)
        raise SystemExit("qcluster's dispatcher did not start within 60 s.")

    def drain_on(self) -> None:
        from mappings.models import App

        app = App.objects.get(pk=self.site.apps["drain"])
        app.delivery_enabled = True
        app.save(update_fields=["delivery_enabled"])


def bench_apps_create(site: Site) -> BenchApps:
    apps = BenchApps(site)
    # As the repo's ingest benchmark: a sequential field and a description per event.
    apps.create("ingest", fields=(1, 2))
    apps.create("drain", fields=(5,), enabled=False)
    apps.create("stream", fields=(5,))
    return apps


def table(figures: dict[str, Any], options: argparse.Namespace) -> str:
    ratio = figures["drain"] / figures["seed"] if figures["seed"] else float("nan")
    share = figures["drain"] / figures["ceiling"] if figures["ceiling"] else float("nan")
    latency = figures["latency"]
    rows = [
        ("ingest, batches of 500 over HTTP, one client", f"{figures['ingest_one']:,.0f} events/s"),
        ("ingest, two clients at once", f"{figures['ingest_two']:,.0f} events/s"),
        (f"drained by qcluster, middle 80 % of {options.backlog:,}, {options.latency_ms:g} ms receiver",
         f"{figures['drain']:,.0f}/s (all in {figures['drain_seconds']:.1f} s)"),
        ("the seed's sender (requests.post per event, in sequence)", f"{figures['seed']:,.1f}/s; ours {ratio:.1f}x"),
        (f"a bare client's ceiling ({options.ceiling_threads} threads, keep-alive)",
         f"{figures['ceiling']:,.0f}/s; ours {share:.0%}"),
        (f"ingest -> receiver at {options.latency_rate:g} events/s in batches of 10, p50 / p99",
         f"{latency['p50_ms']:,.0f} / {latency['p99_ms']:,.0f} ms (ingest answered "
         f"{latency['answered_p50_ms']:,.0f} / {latency['answered_p99_ms']:,.0f} ms)"),
    ]
    for key, value in figures.items():
        if key.startswith("sustained_"):
            rows.append((f"sustained {key.removeprefix('sustained_')} events/s for {options.sustained_seconds:g} s "
                         "(a batch every 50 ms, 8 clients): due -> receiver p50 / p99",
                         f"{value['p50_ms']:,.0f} / {value['p99_ms']:,.0f} ms (max {value['max_ms']:,.0f}); "
                         f"{value['late_after_5s']} of {value['events']:,} not there 5 s after the last; "
                         f"ingest answered p50 / p99 {value['answered_p50_ms']:,.0f} / "
                         f"{value['answered_p99_ms']:,.0f} ms"))
    if "simulate_seconds" in figures:
        timings = figures["simulate_seconds"]
        rows.append((f"simulate a draft mapping over {options.simulate_events:,} stored events (a day), "
                     f"median of {len(timings)}", f"{statistics.median(timings):.2f} s "
                     f"({', '.join(f'{t:.2f}' for t in timings)})"))
    rows += [
        ("peak RSS of a qcluster process while draining", f"{figures['worker_rss_mib']:.0f} MiB"),
        ("peak RSS of a gunicorn worker while ingesting", f"{figures['web_rss_mib']:.0f} MiB"),
        ("load average (1 / 5 / 15 min): before, ingest, drain, latency, after",
         f"{figures['load_before']}; {figures['load_ingest']}; {figures['load_drain']}; "
         f"{figures['load_latency']}; {figures['load_after']}"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"| {'figure':<{width}} | measured |", f"|{'-' * (width + 2)}|----------|"]
    lines += [f"| {name:<{width}} | {value} |" for name, value in rows]
    return "\n".join(lines)


def machine() -> str:
    return (f"{os.cpu_count()} cores, Python {platform.python_version()}, SQLite {sqlite3.sqlite_version}, "
            f"{platform.platform()}")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    options = options_parse(argv)
    figures = run(options)
    if options.ingest_only:
        return figures
    print()
    print(f"machine: {machine()}")
    print(f"command: python -m benchmarks.deployment {' '.join(argv if argv is not None else sys.argv[1:])}")
    print(table(figures, options))
    if options.json:
        options.json.write_text(json.dumps(figures, indent=2))
    return figures


if __name__ == "__main__":
    main()
