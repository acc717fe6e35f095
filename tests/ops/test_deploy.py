"""deploy/: the systemd units and the nginx site parse, agree with each other, with the
application's settings and with the README's production section."""

from __future__ import annotations

import configparser
import re
import shlex
import sys
from pathlib import Path

import pytest

from lms.config import Config

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = ["brigade-web.service", "brigade-worker.service", "brigade-reminders.service"]


def unit(name: str) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(strict=False, interpolation=None, delimiters=("=",))
    parser.optionxform = str  # systemd keys are case-sensitive
    parser.read_string((DEPLOY / name).read_text())
    return parser


def exec_start(name: str) -> list[str]:
    return shlex.split(unit(name)["Service"]["ExecStart"])


def env_example() -> dict[str, str]:
    out = {}
    for line in (DEPLOY / "brigade.env.example").read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            out[key] = value
    return out


def nginx_directives(text: str) -> list[tuple[tuple[str, ...], list[str]]]:
    """(enclosing blocks, directive words) for each directive; fails on unbalanced braces."""
    text = re.sub(r"#[^\n]*", "", text)
    tokens = re.findall(r"[{};]|[^\s{};]+", text)
    stack: list[str] = []
    words: list[str] = []
    found = []
    for tok in tokens:
        if tok == "{":
            stack.append(" ".join(words))
            words = []
        elif tok == "}":
            assert not words, f"directive without ';' before '}}': {words}"
            stack.pop()
        elif tok == ";":
            found.append((tuple(stack), words))
            words = []
        else:
            words.append(tok)
    assert not stack and not words, "unbalanced nginx configuration"
    return found


@pytest.mark.parametrize("name", UNITS)
def test_each_service_reads_the_one_environment_file_and_runs_a_real_program(name):
    service = unit(name)["Service"]
    assert service["EnvironmentFile"] == "/etc/brigade/brigade.env"
    assert service["User"] == "brigade"
    program = Path(exec_start(name)[0])
    assert program.parent == Path("/opt/brigade/.venv/bin")
    # the same program exists in this installation's virtualenv
    assert (Path(sys.executable).parent / program.name).exists(), program.name


def test_the_web_unit_serves_the_wsgi_app_on_the_port_nginx_proxies_to():
    args = exec_start("brigade-web.service")
    assert Path(args[0]).name == "gunicorn" and args[-1] == "wsgi:app"
    bind = args[args.index("--bind") + 1]
    import wsgi  # noqa: F401  (the module gunicorn loads exists and builds the app)

    upstream = [
        words
        for blocks, words in nginx_directives((DEPLOY / "nginx-brigade.conf").read_text())
        if blocks == ("upstream brigade_web",) and words[0] == "server"
    ]
    assert upstream and upstream[0][1] == bind
    # exit code 4 (configuration that cannot work) is not restarted in a loop
    assert unit("brigade-web.service")["Service"]["RestartPreventExitStatus"] == "4"


def test_the_worker_unit_runs_the_huey_of_lms_worker():
    args = exec_start("brigade-worker.service")
    assert Path(args[0]).name == "huey_consumer" and args[1] == "lms.worker.huey"
    from lms import create_app, jobs, worker

    # the entry point runs the one queue and hands it the app factory (the queue stands below it)
    assert worker.huey is jobs.huey is not None
    assert jobs._app_factory is create_app


def test_the_timer_starts_the_reminders_daily():
    timer = unit("brigade-reminders.timer")
    assert timer["Timer"]["Unit"] == "brigade-reminders.service"
    assert re.fullmatch(r"\*-\*-\* \d\d:\d\d:\d\d", timer["Timer"]["OnCalendar"])
    assert timer["Timer"]["Persistent"] == "true"
    assert exec_start("brigade-reminders.service")[-2:] == ["lms", "send-reminders"]
    assert unit("brigade-reminders.service")["Service"]["Type"] == "oneshot"


def test_nginx_passes_what_the_proxy_settings_expect():
    directives = nginx_directives((DEPLOY / "nginx-brigade.conf").read_text())
    root = [w for b, w in directives if b and b[-1] == "location /"]
    headers = {w[1]: w[2] for w in root if w[0] == "proxy_set_header"}
    # one hop that overwrites X-Forwarded-For: a client cannot forge its address
    assert headers["X-Forwarded-For"] == "$remote_addr"
    assert headers["X-Forwarded-Proto"] == "$scheme"
    assert headers["X-Request-ID"] == "$request_id"
    assert env_example()["LMS_TRUSTED_PROXIES"] == "1"
    [size] = [w[1] for b, w in directives if w[0] == "client_max_body_size"]
    assert int(size.rstrip("m")) * 1024 * 1024 >= Config().flask_settings()["MAX_CONTENT_LENGTH"]
    [alias] = [w[1] for b, w in directives if b[-1:] == ("location /static/",) and w[0] == "alias"]
    assert alias == "/opt/brigade/static/"


def test_the_environment_example_names_only_real_settings_and_starts_in_production():
    known = set(re.findall(r'"(LMS_[A-Z_]+)"', (ROOT / "lms" / "config.py").read_text()))
    example = env_example()
    assert set(example) <= known, set(example) - known
    config = Config.from_env(example)
    assert config.production and config.redis_url and config.mail_use_tls == "starttls"
    config.flask_settings()  # a secret key is set: no ConfigError


def test_the_readme_production_section_walks_through_these_files():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Production", 1)[1].split("\n## ", 1)[0]
    for name in [*UNITS, "brigade-reminders.timer", "nginx-brigade.conf", "brigade.env.example"]:
        assert f"deploy/{name}" in section, name
    for word in ("/readyz", "LMS_REDIS_URL", "LMS_TRUSTED_PROXIES", "redis-server"):
        assert word in section, word


def test_make_run_serves_with_gunicorn_and_a_job_worker_not_the_development_server():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nrun:", 1)[1].split("\n\n", 1)[0]
    assert "$(BIN)/gunicorn" in recipe and "wsgi:app" in recipe
    assert "huey_consumer lms.worker.huey" in recipe
    assert "flask run" not in recipe
    assert "cluster-test:" in makefile and "tests/cluster" in makefile
