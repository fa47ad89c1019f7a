"""`seatplan` — run, migrate, demo, operator-key (API.md "Command line and configuration")."""

import argparse
import os
import sys
from datetime import datetime


def _setup(*, sandbox_default: bool = False) -> None:
    if sandbox_default:
        os.environ.setdefault("SEATPLAN_SANDBOX", "1")
        os.environ.setdefault("SEATPLAN_DEBUG", "1")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "seatplan.settings")
    import django

    django.setup()
    from django.conf import settings

    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def cmd_migrate(args: argparse.Namespace) -> int:
    _setup()
    _migrate()
    print("Database is up to date.")
    return 0


def _seed_demo() -> bool:
    from seatplan.clocks.clock import get_clock
    from seatplan.demo import demo_seed

    return demo_seed(now=get_clock().now()) is not None


def cmd_demo(args: argparse.Namespace) -> int:
    _setup(sandbox_default=True)
    _migrate()
    print("Demo seeded." if _seed_demo() else "The demo is there already.")
    return 0


def cmd_operator_key(args: argparse.Namespace) -> int:
    _setup()
    _migrate()
    from seatplan.accounts.services import operator_key_create
    from seatplan.clocks.clock import get_clock

    _, secret = operator_key_create(email=args.email, now=get_clock().now())
    print(f"Operator key for {args.email.lower()} (shown once):")
    print(secret)
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    _setup(sandbox_default=True)
    _migrate()
    from seatplan.accounts.models import Account

    if not Account.objects.exists():
        _seed_demo()
    from django.conf import settings

    address = f"http://{args.host}:{args.port}"
    print(f"Seatplan on {address}  (database: {settings.DATABASES['default']['ENGINE'].rsplit('.', 1)[-1]})")
    print(f"  API docs:  {address}/api/v1/docs")
    print(
        f"  Sign in:   {address}/  as owner@demo.test, billing@demo.test, admin@demo.test or "
        "member@demo.test, password seatplan-demo"
    )
    print("  Operator key:  seatplan operator-key --email you@vendor.test", flush=True)
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "seatplan.wsgi",
        "--bind",
        f"{args.host}:{args.port}",
        "--workers",
        str(args.workers),
        "--threads",
        "4",
        "--preload",
        "--access-logfile",
        "-",
    ]
    sys.stdout.flush()
    # gunicorn takes this process's place: signals (SIGTERM from a supervisor, Ctrl-C) reach it directly.
    os.execv(sys.executable, command)  # noqa: S606 - our own interpreter and arguments


def cmd_bill(args: argparse.Namespace) -> int:
    """One pass of everything due (at --now, default the clock's time), with counts."""
    _setup()
    from seatplan.clocks.clock import get_clock
    from seatplan.events.delivery import outbox_deliver
    from seatplan.events.webhooks import webhooks_deliver
    from seatplan.jobs import billing_run

    now = args.now or get_clock().now()
    counts = billing_run(now=now)
    sent = 0 if args.no_deliver else outbox_deliver(now=now, limit=10_000)
    hooks = 0 if args.no_deliver else webhooks_deliver(now=now)
    done = ", ".join(f"{name} {count}" for name, count in counts.items())
    print(f"Billing pass at {now.isoformat()}: {done}; e-mails sent {sent}; webhooks delivered {hooks}.")
    return 0


def cmd_worker(args: argparse.Namespace) -> int:
    """Keep billing and delivering the outbox until stopped (SIGINT/SIGTERM end it after a pass)."""
    _setup()
    import signal
    import time

    from seatplan.clocks.clock import get_clock
    from seatplan.events.delivery import outbox_deliver
    from seatplan.events.webhooks import webhooks_deliver
    from seatplan.jobs import billing_run

    stopping = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stopping.append(True))
    print(f"Billing worker: a pass every {args.interval:g} s (Ctrl-C to stop).", flush=True)
    while not stopping:
        now = get_clock().now()
        try:
            counts = billing_run(now=now)
            sent = outbox_deliver(now=now, limit=1000)
            hooks = webhooks_deliver(now=now)
        except Exception:  # noqa: BLE001 - one bad pass must not stop the worker; logged, tried again
            import logging

            logging.getLogger("seatplan.worker").exception("billing pass failed")
            counts, sent, hooks = {}, 0, 0
        if any(counts.values()) or sent or hooks:
            print(
                f"{now.isoformat()} "
                + ", ".join(f"{k} {v}" for k, v in counts.items() if v)
                + f" e-mails {sent} webhooks {hooks}",
                flush=True,
            )
        deadline = time.monotonic() + args.interval
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.2)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="seatplan", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    run = commands.add_parser("run", help="migrate, seed the demo on an empty database, serve")
    run.add_argument("--host", default="127.0.0.1")
    run.add_argument("--port", type=int, default=8000)
    run.add_argument("--workers", type=int, default=2)
    run.set_defaults(func=cmd_run)
    commands.add_parser("migrate", help="create or update the database schema").set_defaults(func=cmd_migrate)
    commands.add_parser("demo", help="seed the demo account and catalog").set_defaults(func=cmd_demo)
    key = commands.add_parser("operator-key", help="create an operator and print a new API key")
    key.add_argument("--email", required=True)
    key.set_defaults(func=cmd_operator_key)
    bill = commands.add_parser("bill", help="one pass of the billing job: everything due now (or at --now)")
    bill.add_argument("--now", type=parse_instant, help="the instant to bill at, e.g. 2027-02-14T00:00:00Z")
    bill.add_argument("--no-deliver", action="store_true", help="leave the e-mails and webhooks to the worker")
    bill.set_defaults(func=cmd_bill)
    worker = commands.add_parser("worker", help="run the billing job and deliver e-mails and webhooks, again and again")
    worker.add_argument("--interval", type=float, default=10.0, help="seconds between passes (default 10)")
    worker.set_defaults(func=cmd_worker)
    args = parser.parse_args(argv)
    return args.func(args)


def parse_instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    if value.tzinfo is None:
        raise argparse.ArgumentTypeError("give a UTC instant, e.g. 2027-02-14T00:00:00Z")
    return value


if __name__ == "__main__":
    sys.exit(main())
