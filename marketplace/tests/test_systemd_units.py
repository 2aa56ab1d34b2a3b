"""The systemd units shipped in deploy/systemd (docs/deploy.md): each runs a command that exists
with arguments it accepts, each timer starts a service that exists, and every job the
deployment guide schedules has a timer."""

import configparser
import shlex
import shutil
import subprocess
from pathlib import Path

from django.core.management import get_commands, load_command_class

import pytest

UNITS = Path(__file__).resolve().parents[2] / "deploy" / "systemd"
APP = "/srv/vitrine/app"  # where the drop-in runs them from (vitrine-.service.d/app.conf)
SCHEDULED = {  # docs/deploy.md: every job it says to run from a timer
    "release_expired_reservations", "tasks_requeue_stale", "run_payouts",
    "reconcile_payments", "erase_overdue_orders", "prune_db_task_results",
}  # fmt: skip


def unit(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read(path)
    return parser


def commands(path: Path) -> list[list[str]]:
    """The argument lists of a service's ExecStartPre and ExecStart."""
    service = unit(path)["Service"]
    return [shlex.split(service[key]) for key in ("ExecStartPre", "ExecStart") if key in service]


def services() -> list[Path]:
    return sorted(UNITS.glob("*.service"))


def timers() -> list[Path]:
    return sorted(UNITS.glob("*.timer"))


@pytest.mark.parametrize("path", services(), ids=lambda path: path.name)
def test_each_service_runs_a_command_that_exists_with_arguments_it_accepts(path, settings):
    # Production's tasks backend: the worker's commands check it (tests queue no task there).
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    for argv in commands(path):
        assert argv[0].startswith(f"{APP}/.venv/bin/"), argv
        if argv[1:2] == ["manage.py"]:
            name, *args = argv[2:]
            app = get_commands().get(name)
            assert app is not None, f"{path.name}: no command {name!r}"
            parser = load_command_class(app, name).create_parser("manage.py", name)
            parser.parse_args(args)  # an unknown option exits (SystemExit): the test fails
        else:
            assert argv[1:] == ["-c", "gunicorn.conf.py"], argv
            assert (UNITS.parents[1] / "gunicorn.conf.py").exists()


@pytest.mark.parametrize("path", timers(), ids=lambda path: path.name)
def test_each_timer_starts_its_service(path):
    timer = unit(path)
    service = path.with_suffix(".service")
    assert service.exists(), f"{path.name} has no {service.name}"
    assert unit(service)["Service"]["Type"] == "oneshot"
    assert timer["Timer"]["OnCalendar"] and timer["Timer"]["Persistent"] == "true"
    assert timer["Install"]["WantedBy"] == "timers.target"


def test_every_scheduled_job_has_a_timer():
    timed = {argv[2] for path in timers() for argv in commands(path.with_suffix(".service"))}
    assert timed == SCHEDULED


def test_every_service_shares_the_users_directory_and_environment():
    """The drop-in for the "vitrine-" prefix sets them once; no unit sets them otherwise."""
    shared = unit(UNITS / "vitrine-.service.d" / "app.conf")["Service"]
    assert dict(shared) == {
        "User": "vitrine", "WorkingDirectory": APP, "EnvironmentFile": "/etc/vitrine/vitrine.env"
    }  # fmt: skip
    for path in services():
        assert path.name.startswith("vitrine-")
        assert not set(unit(path)["Service"]) & set(shared), path.name


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="needs systemd-analyze")
def test_systemd_reads_every_unit(tmp_path):
    """systemd's own check: sections, keys, calendar expressions. The only complaint allowed
    is that the application is not installed here."""
    for path in [*services(), *timers()]:
        shutil.copy(path, tmp_path / path.name)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(p.name for p in tmp_path.iterdir())],
        cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    complaints = [
        line for line in result.stderr.splitlines()
        if line.strip() and f"Command {APP}/.venv/bin/" not in line
    ]  # fmt: skip
    assert complaints == []
