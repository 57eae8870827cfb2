"""The screenshot tour: the main pages at a laptop's and a phone's width, as PNGs in docs/screenshots/.

    .venv/bin/python scripts/screenshots.py [--port 8250] [--sandbox-port 8251] [--out docs/screenshots]

It runs `make run`'s own script (scripts/run.sh) on a fresh SQLite database in a temporary folder,
so the pages show the demo data a newcomer sees, deliveries and failures included. It signs in as the
demo user and as the support staff user, visits every page of PAGES at each width of WIDTHS, and stops
with an error naming the page when one answers 4xx or 5xx. Everything it started is stopped at the end.

Needs Debian's Chromium (`make chromium`) and the test extras (Playwright).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.error import URLError

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
# A common laptop and a common phone, with the heights they show at once.
WIDTHS = {1366: 768, 390: 844}


@dataclass(frozen=True)
class Demo:
    """Ids of the seeded demo objects the pages need, read from the tour's own database."""

    app: int  # Puzzle Quest (iOS): every Event ID mapped, deliveries delivered
    failing_app: int  # Word Blitz: an out-of-date token, deliveries failed
    mapping: int
    delivered: int
    failed: int
    failed_event_id: str  # the customer's event_id of `failed`, to search by
    long_app: int  # an app fed long content (feed_long_content): the pages must hold it


# What a page must hold without widening (feed_long_content): the longest names the models take,
# an example of properties as big as ingest takes, and rejection messages that quote both.
LONG_EVENT_NAME = "level_" + "abcdefghij" * 24 + "_done_end"  # 255 characters, no space to break at
LONG_APP_NAME = "Puzzle_" + "Quest" * 17 + "_iOS_123"  # 100 characters, the most an app name takes
BIG_PROPERTIES = {f"property_{n:03}": "x" * 140 for n in range(100)}  # just under 16 KiB as JSON


@dataclass(frozen=True)
class Shot:
    name: str  # the file is docs/screenshots/<name>-<width>.png
    who: str  # "anonymous", "demo" (a customer) or "support" (staff, in the admin)
    path: Callable[[Demo], str]
    about: str  # one line for docs/screenshots/README.md


# The tour, in one place: a page added to the product is one line here.
PAGES = [
    Shot("sign-in", "anonymous", lambda d: "/accounts/login/", "Sign-in page."),
    Shot("password-reset", "anonymous", lambda d: "/accounts/password_reset/", "Asking for a password reset e-mail."),
    Shot("apps", "demo", lambda d: "/apps/", "The apps list with each app's health."),
    Shot("app-overview", "demo", lambda d: f"/apps/{d.app}/",
         "An app's Overview tab: health, open problems, the 14-day chart, rejected events."),
    Shot("app-mappings", "demo", lambda d: f"/apps/{d.app}/mappings/", "An app's Mappings tab."),
    Shot("app-live", "demo", lambda d: f"/apps/{d.app}/live/",
         "An app's Live events tab: the last events and what became of each, updating by itself."),
    Shot("mappings-copy", "demo", lambda d: f"/apps/{d.failing_app}/mappings/copy/",
         "Copying another app's mappings into this one."),
    Shot("app-changes", "demo", lambda d: f"/apps/{d.app}/changes/",
         "An app's Changes tab: the audit trail of the app and its mappings."),
    Shot("app-settings", "demo", lambda d: f"/apps/{d.failing_app}/settings/",
         "An app's Settings tab: credentials, pause, test event, S2S checklist, delete."),
    Shot("app-failing", "demo", lambda d: f"/apps/{d.failing_app}/",
         "An app whose deliveries fail (an out-of-date token)."),
    Shot("deliveries", "demo", lambda d: f"/apps/{d.app}/deliveries/", "An app's deliveries, with filters."),
    Shot("deliveries-failed", "demo", lambda d: f"/apps/{d.failing_app}/deliveries/?status=failed",
         "Failed deliveries, filtered by status."),
    Shot("delivery-delivered", "demo", lambda d: f"/deliveries/{d.delivered}/",
         "A delivered delivery with its attempt."),
    Shot("delivery-failed", "demo", lambda d: f"/deliveries/{d.failed}/",
         "A failed delivery: Chartboost's answer, the hint, and Retry."),
    Shot("search", "demo", lambda d: f"/deliveries/?event_id={d.failed_event_id}",
         "Searching every app's deliveries by event_id."),
    Shot("mapping-new", "demo", lambda d: f"/apps/{d.failing_app}/mappings/new/", "The new-mapping form."),
    Shot("long-overview", "demo", lambda d: f"/apps/{d.long_app}/",
         "An app with a 100-character name, 255-character event names and long rejection messages."),
    Shot("long-mappings", "demo", lambda d: f"/apps/{d.long_app}/mappings/",
         "Its Mappings tab: a 255-character event name not yet mapped, with a 16 KB example of properties."),
    Shot("long-deliveries", "demo", lambda d: f"/apps/{d.long_app}/deliveries/",
         "Its deliveries: many rows of a 255-character event name."),
    Shot("long-map-it", "demo", lambda d: f"/apps/{d.long_app}/mappings/new/?event_name={LONG_EVENT_NAME}",
         "Map it on a 255-character event name."),
    Shot("mapping-all-used", "demo", lambda d: f"/apps/{d.app}/mappings/new/",
         "The new-mapping page when all five Event IDs are in use."),
    Shot("mapping-edit", "demo", lambda d: f"/apps/{d.app}/mappings/{d.mapping}/edit/", "Editing a mapping."),
    Shot("app-new", "demo", lambda d: "/apps/new/", "Adding an app."),
    Shot("api-keys", "demo", lambda d: "/settings/api-keys/", "API keys."),
    Shot("members", "demo", lambda d: "/settings/members/", "Members and their roles."),
    Shot("alerts", "demo", lambda d: "/settings/alerts/", "Alert channels, the threshold and the alerts sent."),
    Shot("privacy", "demo", lambda d: "/settings/privacy/", "Forgetting a device, and the erasures made."),
    Shot("invitations", "demo", lambda d: "/invitations/", "Invitations waiting for the signed-in user's answer."),
    Shot("api-docs", "demo", lambda d: "/api/docs/", "The interactive API docs."),
    Shot("admin-index", "support", lambda d: "/admin/", "The admin's home, for support staff."),
    Shot("admin-deliveries", "support", lambda d: "/admin/delivery/delivery/", "The admin's deliveries list."),
    Shot("admin-delivery", "support", lambda d: f"/admin/delivery/delivery/{d.failed}/change/",
         "A failed delivery in the admin, attempts read-only."),
    Shot("admin-history", "support", lambda d: f"/admin/delivery/delivery/history/{d.app}/",
         "An app's success history in the admin."),
    Shot("admin-app-audit-trail", "support", lambda d: f"/admin/mappings/app/{d.app}/history/",
         "An app's audit trail in the admin (its mappings' changes included)."),
]


def demo_ids() -> Demo:
    import django

    django.setup()
    from delivery.models import Delivery
    from mappings.management.commands import seed_demo
    from mappings.models import App

    app = App.objects.get(name=seed_demo.APPS[0]["name"])
    failing_app = App.objects.get(name=seed_demo.STALE_TOKEN_APP)
    delivered = Delivery.objects.filter(app=app, status=Delivery.Status.DELIVERED).order_by("-pk").first()
    failed = Delivery.objects.filter(app=failing_app, status=Delivery.Status.FAILED).order_by("-pk").first()
    if delivered is None or failed is None:
        raise SystemExit("The demo has no delivered or no failed delivery: see .run/qcluster.log.")
    return Demo(app.pk, failing_app.pk, app.mappings.get(event_field=1).pk, delivered.pk, failed.pk,
                failed.event.event_id, feed_long_content(app.organization))


def feed_long_content(organization: object) -> int:
    """An app with content as long as the product takes, through the services a customer's requests
    reach: its mapping, tracked events (the worker sends them), events rejected with long messages,
    and a 255-character event name not yet mapped. Returns the app's id."""
    import time as clock

    from delivery.ingest.service import events_ingest
    from mappings.services import app_create, mapping_create

    app = app_create(organization=organization, name=LONG_APP_NAME, platform="ios",
                     chartboost_app_id="5f2a9c41e8b7d3a6c0e19f99", chartboost_app_token="ab" * 32)
    mapped = LONG_EVENT_NAME[:-3] + "map"
    mapping_create(app=app, event_name=mapped, event_field=1, event_label=mapped,
                   main_level_property=LONG_EVENT_NAME, description="A description as long as it may be " * 7)
    now = int(clock.time())
    identifiers = {"ifa": "B1C99C76-F014-4285-90CF-3A5C99D9DFC6"}

    def event(n: int, name: str, properties: dict) -> dict:
        return {"event_id": f"long-{n:03}-" + "9" * 100, "name": name, "timestamp": now - n,
                "platform": "iOS 17.4", "identifiers": identifiers, "properties": properties}

    # Many rows: pages of deliveries, each level higher than the last so none is suppressed.
    events_ingest(app=app, events=[event(n, mapped, {LONG_EVENT_NAME: 60 - n}) for n in range(60)])
    # Rejected: the level property is missing, and the message names the 255-character property.
    events_ingest(app=app, events=[event(100 + n, mapped, {"level": 1}) for n in range(3)])
    events_ingest(app=app, events=[event(200, LONG_EVENT_NAME, BIG_PROPERTIES)])
    return app.pk


def wait_for(url: str, process: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"scripts/run.sh stopped (exit {process.returncode}) before serving {url}.")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (URLError, ConnectionError):
            time.sleep(0.5)
    raise SystemExit(f"Nothing answered at {url} within {seconds:.0f} s.")


def sign_in(page: object, base: str, who: str) -> None:
    from mappings.management.commands import seed_demo

    username, password = {
        "demo": (seed_demo.USERNAME, seed_demo.PASSWORD),
        "support": (seed_demo.STAFF_USERNAME, seed_demo.STAFF_PASSWORD),
    }[who]
    page.goto(f"{base}/admin/login/" if who == "support" else f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("[type=submit]")
    page.wait_for_load_state()
    if "/login/" in page.url:
        raise SystemExit(f"Signing in as {username} failed: still on {page.url}")


def take(base: str, demo: Demo, out: Path, overflowing: list[str]) -> list[Path]:
    """Screenshot every page at every width; note in `overflowing` each page wider than its screen."""
    from playwright.sync_api import sync_playwright

    written = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for who in dict.fromkeys(shot.who for shot in PAGES):
            for width, height in WIDTHS.items():
                context = browser.new_context(viewport={"width": width, "height": height})
                context.set_default_timeout(15_000)
                page = context.new_page()
                if who != "anonymous":
                    sign_in(page, base, who)
                for shot in (shot for shot in PAGES if shot.who == who):
                    response = page.goto(base + shot.path(demo))
                    if response is None or response.status >= 400:
                        raise SystemExit(f"{shot.name}: {shot.path(demo)} answered "
                                         f"{response.status if response else 'nothing'}")
                    page.wait_for_load_state("networkidle")
                    # A page wider than the screen scrolls sideways as a whole; wide tables should
                    # scroll inside their own container instead.
                    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                    if overflow > 0:
                        overflowing.append(f"{shot.name} at {width} px is {overflow} px wider than the screen")
                    path = out / f"{shot.name}-{width}.png"
                    page.screenshot(path=str(path), full_page=True)
                    written.append(path)
                    print(f"  {path.relative_to(ROOT)}")
                context.close()
        browser.close()
    return written


def write_index(out: Path) -> None:
    lines = ["# Screenshots", "",
             "Made by `scripts/screenshots.py` from the demo data of `make run`, at 1366 px (a laptop) and "
             "390 px (a phone). Run it again after changing a page; it fails naming any page that answers 4xx or "
             "5xx, or that is wider than the screen.", "",
             "| page | 1366 px | 390 px | what it shows |", "| --- | --- | --- | --- |"]
    for shot in PAGES:
        files = " | ".join(f"[{shot.name}-{width}.png]({shot.name}-{width}.png)" for width in WIDTHS)
        lines.append(f"| {shot.name} | {files} | {shot.about} |")
    (out / "README.md").write_text("\n".join(lines) + "\n")


def stop(process: subprocess.Popen) -> None:
    """scripts/run.sh stops its worker and sandbox itself on SIGTERM; its dev server goes with the group."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8250, help="Port for the dashboard (default 8250).")
    parser.add_argument("--sandbox-port", type=int, default=8251, help="Port for the Chartboost sandbox.")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    options = parser.parse_args()
    options.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cbtracker-screenshots-") as folder:
        log = Path(folder) / "run.log"
        env = {**os.environ, "PY": sys.executable, "PORT": str(options.port),
               "SANDBOX_PORT": str(options.sandbox_port), "DATABASE_URL": f"sqlite:///{folder}/db.sqlite3",
               "DJANGO_SETTINGS_MODULE": "trackerui.settings"}
        env.pop("REDIS_URL", None)
        os.environ.update({key: env[key] for key in ("DATABASE_URL", "DJANGO_SETTINGS_MODULE")})
        os.environ.pop("REDIS_URL", None)
        sys.path.insert(0, str(ROOT))
        base = f"http://127.0.0.1:{options.port}"
        print(f"Starting scripts/run.sh on {base} (log: {log})")
        with log.open("w") as log_file:
            process = subprocess.Popen(["bash", "scripts/run.sh"], cwd=ROOT, env=env, stdout=log_file,
                                       stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            wait_for(f"{base}/accounts/login/", process, seconds=180)
            demo = demo_ids()
            print("Taking screenshots:")
            overflowing: list[str] = []
            take(base, demo, options.out, overflowing)
        except BaseException:
            print(log.read_text()[-3000:], file=sys.stderr)
            raise
        finally:
            stop(process)
    write_index(options.out)
    print(f"Wrote {len(PAGES) * len(WIDTHS)} screenshots and {options.out.relative_to(ROOT)}/README.md.")
    if overflowing:
        raise SystemExit("Pages that scroll sideways as a whole:\n  " + "\n  ".join(overflowing))


if __name__ == "__main__":
    main()
