"""The production stack's files, checked without a container engine (docs/deploy.md).

docker-compose.yml is validated against the Compose Specification's JSON schema
(tests/data/compose-spec.json, see compose-spec.NOTICE beside it), then against this
project's own rules: both servers share one secret key, database, Redis and data volume;
every service has a health check and every dependency waits for it; migrations run once
before the servers; each server has its own media worker; every secret and every
variable comes from .env, and .env.example lists exactly the variables the file reads.
The Dockerfile runs `hoinghi` as an unprivileged user; the proxy's configuration names both
servers and, when an nginx binary is at hand (PATH, /usr/sbin, or HOINGHI_TEST_NGINX), passes
`nginx -t`.
"""

from __future__ import annotations

import copy
import datetime
import json
import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

ROOT = Path(__file__).resolve().parent.parent
COMPOSE_FILE = ROOT / "docker-compose.yml"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERFILE = ROOT / "Dockerfile"
DOCKERIGNORE = ROOT / ".dockerignore"
NGINX_TEMPLATE = ROOT / "deploy" / "nginx.conf.template"
TURN_CONF = ROOT / "deploy" / "turnserver.conf"
DEPLOY_DOC = ROOT / "docs" / "deploy.md"
SCHEMA = Path(__file__).parent / "data" / "compose-spec.json"

ONE_SHOT = "no"  # the restart policy of services that run once and exit
SECRET_WORDS = ("SECRET", "PASSWORD", "PASSPHRASE", "AUTH", "TOKEN")

# Compose interpolation: $$, ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?message},
# ${NAME?message}, ${NAME:+alternative}, ${NAME+alternative}, $NAME.
_REFERENCE = re.compile(
    r"\$(?:(?P<escaped>\$)"
    r"|\{(?P<braced>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?+])(?P<arg>[^}]*))?\}"
    r"|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))"
)


# --- reading the files ----------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(document, dict)
    return document


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    values: dict[str, str] = {}
    for number, line in enumerate(ENV_EXAMPLE.read_text().splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, equals, value = line.partition("=")
        assert equals and re.fullmatch(r"[A-Z_][A-Z0-9_]*", name), (
            f".env.example line {number} is not NAME=value: {line!r}"
        )
        assert name not in values, f".env.example sets {name} twice"
        values[name] = value
    return values


@pytest.fixture(scope="module")
def resolved(compose: dict[str, Any], env_example: dict[str, str]) -> dict[str, Any]:
    """The compose file as Compose sees it with .env.example as .env."""
    return _interpolated(compose, env_example)


def _strings(node: Any) -> Iterator[str]:
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _strings(key)
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _variables(text: str) -> set[str]:
    return {
        m.group("braced") or m.group("bare")
        for m in _REFERENCE.finditer(text)
        if not m.group("escaped")
    }


def _interpolate(text: str, env: dict[str, str]) -> str:
    def replace(m: re.Match[str]) -> str:
        if m.group("escaped"):
            return "$"
        name = m.group("braced") or m.group("bare")
        op, arg = m.group("op"), m.group("arg") or ""
        value = env.get(name)
        unset_or_empty = not value
        missing = unset_or_empty if op and op.startswith(":") else value is None
        if op in (":-", "-"):
            return arg if missing else str(value)
        if op in (":?", "?"):
            assert not missing, f"${{{name}}} is required: {arg}"
            return str(value)
        if op in (":+", "+"):
            return "" if missing else arg
        return value or ""

    return _REFERENCE.sub(replace, text)


def _interpolated(node: Any, env: dict[str, str]) -> Any:
    if isinstance(node, str):
        return _interpolate(node, env)
    if isinstance(node, dict):
        return {key: _interpolated(value, env) for key, value in node.items()}
    if isinstance(node, list):
        return [_interpolated(item, env) for item in node]
    return node


def _services(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services = document["services"]
    assert isinstance(services, dict)
    return services


def _command(service: dict[str, Any]) -> list[str]:
    command = service.get("command") or []
    return shlex.split(command) if isinstance(command, str) else list(command)


def _servers(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in _services(document).items()
        if _command(service)[:1] == ["serve"]
    }


def _media_workers(document: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service
        for name, service in _services(document).items()
        if _command(service)[:1] == ["media-worker"]
    }


def _option(command: list[str], flag: str) -> str:
    assert flag in command, f"{flag} missing from {command}"
    return command[command.index(flag) + 1]


def _environment(service: dict[str, Any]) -> dict[str, str]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        environment = dict(item.partition("=")[::2] for item in environment)
    return {str(k): "" if v is None else str(v) for k, v in environment.items()}


def _depends_on(service: dict[str, Any]) -> dict[str, dict[str, Any]]:
    depends_on = service.get("depends_on") or {}
    assert isinstance(depends_on, dict), "depends_on must say which condition to wait for"
    return depends_on


def _is_one_shot(service: dict[str, Any]) -> bool:
    return service.get("restart") == ONE_SHOT


# --- the Compose Specification --------------------------------------------------------


def _schema_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads(SCHEMA.read_text())
    Draft7Validator.check_schema(schema)
    errors = Draft7Validator(schema).iter_errors(document)
    return sorted(f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in errors)


def test_compose_file_follows_the_compose_specification(
    compose: dict[str, Any], resolved: dict[str, Any]
) -> None:
    assert _schema_errors(compose) == []
    assert _schema_errors(resolved) == []


def test_the_schema_check_catches_mistakes(compose: dict[str, Any]) -> None:
    broken = copy.deepcopy(compose)
    server = next(iter(_servers(broken)))
    broken["services"][server]["helthcheck"] = broken["services"][server].pop("healthcheck")
    broken["services"]["db"]["depends_on"] = {"redis": {"condition": "service_ready"}}
    errors = _schema_errors(broken)
    assert any("helthcheck" in error for error in errors), errors
    assert any("service_ready" in error for error in errors), errors


def test_host_network_services_publish_nothing(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        if service.get("network_mode") == "host":
            assert "ports" not in service and "networks" not in service, name


# --- the stack's own rules ------------------------------------------------------------


def test_two_servers_share_the_secret_key_database_redis_and_data(
    compose: dict[str, Any], resolved: dict[str, Any]
) -> None:
    servers = _servers(compose)
    assert len(servers) == 2, f"two `hoinghi serve` services, found {sorted(servers)}"
    environments = [_environment(service) for service in servers.values()]
    shared = (
        "HOINGHI_SECRET_KEY",
        "HOINGHI_DATABASE_URL",
        "HOINGHI_REDIS_URL",
        "HOINGHI_PUBLIC_URL",
        "HOINGHI_MEDIA_SECRET",
        "HOINGHI_TURN_SECRET",
    )
    for name in shared:
        values = {environment.get(name) for environment in environments}
        assert len(values) == 1 and None not in values and "" not in values, (name, values)
    # Everything else is the same too, but for each server's own media worker.
    for environment in environments:
        environment.pop("HOINGHI_MEDIA_WORKER_ADDRESSES", None)
    assert environments[0] == environments[1]

    services = _services(resolved)
    environment = _environment(services[next(iter(servers))])
    database = environment["HOINGHI_DATABASE_URL"]
    assert database.startswith("postgresql+asyncpg://"), "several servers need PostgreSQL"
    assert re.search(r"@db:5432/", database) and services["db"]["image"].startswith("postgres:16")
    assert environment["HOINGHI_REDIS_URL"].startswith("redis://")
    assert "@redis:6379/" in environment["HOINGHI_REDIS_URL"]
    assert services["redis"]["image"].startswith("redis:7")
    assert environment["HOINGHI_PUBLIC_URL"].startswith("https://"), "cookies must be Secure"
    assert environment["HOINGHI_SEED_DEMO"] == "false", "production starts without the demo"

    for name, service in servers.items():
        assert "hoinghi-data:/data" in service["volumes"], name
    assert "hoinghi-data" in compose["volumes"] and "db-data" in compose["volumes"]
    assert "db-data:/var/lib/postgresql/data" in services["db"]["volumes"]


def test_every_service_has_a_health_check(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        check = service.get("healthcheck")
        assert check, f"{name} has no healthcheck"
        if check.get("disable"):
            assert _is_one_shot(service), f"{name} runs for good but has its check disabled"
        else:
            assert check.get("test"), name
            assert not _is_one_shot(service), f"{name} runs once: disable the image's check"


def test_dependencies_wait_for_health_or_completion(compose: dict[str, Any]) -> None:
    services = _services(compose)
    for name, service in services.items():
        for dependency, how in _depends_on(service).items():
            assert dependency in services, (name, dependency)
            if _is_one_shot(services[dependency]):
                assert how["condition"] == "service_completed_successfully", (name, dependency)
            else:
                assert how["condition"] == "service_healthy", (name, dependency)
                assert not services[dependency]["healthcheck"].get("disable"), dependency


def test_migrations_run_once_before_the_servers(compose: dict[str, Any]) -> None:
    services = _services(compose)
    migrations = [name for name, s in services.items() if _command(s)[:1] == ["migrate"]]
    assert migrations == ["migrate"]
    assert _is_one_shot(services["migrate"]) and "profiles" not in services["migrate"]
    assert _depends_on(services["migrate"])["db"]["condition"] == "service_healthy"
    for name, server in _servers(compose).items():
        depends_on = _depends_on(server)
        assert depends_on["migrate"]["condition"] == "service_completed_successfully", name
        assert depends_on["db"]["condition"] == "service_healthy", name
        assert depends_on["redis"]["condition"] == "service_healthy", name


def test_each_server_has_its_own_media_worker(resolved: dict[str, Any]) -> None:
    workers = _media_workers(resolved)
    listening = {}
    for name, worker in workers.items():
        command = _command(worker)
        address = f"{_option(command, '--host')}:{_option(command, '--port')}"
        listening[address] = name
        # Its recordings land in the data volume the servers serve them from.
        assert _option(command, "--recordings") == "/data/recordings", name
        assert "hoinghi-data:/data" in worker["volumes"], name
        # aiortc offers the interfaces it sees: only the host's network has the right ones.
        assert worker.get("network_mode") == "host", name
    used: list[str] = []
    for name, server in _servers(resolved).items():
        environment = _environment(server)
        addresses = [a for a in environment["HOINGHI_MEDIA_WORKER_ADDRESSES"].split(",") if a]
        assert addresses, name
        for address in addresses:
            assert address in listening, f"{name}: no media worker listens on {address}"
            assert listening[address] in _depends_on(server), (name, listening[address])
            used.append(listening[address])
        for worker in addresses:
            media_secret = _environment(workers[listening[worker]])["HOINGHI_MEDIA_SECRET"]
            assert media_secret == environment["HOINGHI_MEDIA_SECRET"], name
    # A worker takes one server's link only (rooms/media/worker.py).
    assert sorted(used) == sorted(set(used)) == sorted(workers), used


def test_coturn_shares_the_turn_secret_with_the_servers(compose: dict[str, Any]) -> None:
    turn = _services(compose)["turn"]
    assert turn["image"].startswith("coturn/coturn:")
    assert turn.get("network_mode") == "host"
    assert "./deploy/turnserver.conf:/etc/coturn/turnserver.conf:ro" in turn["volumes"]
    secret_options = [a for a in _command(turn) if a.startswith("--static-auth-secret=")]
    assert len(secret_options) == 1
    for server in _servers(compose).values():
        assert (
            _variables(secret_options[0])
            == _variables(_environment(server)["HOINGHI_TURN_SECRET"])
            == {"HOINGHI_TURN_SECRET"}
        )
    conf = TURN_CONF.read_text()
    assert re.search(r"^use-auth-secret$", conf, re.M)
    assert not re.search(r"^static-auth-secret", conf, re.M), "the secret belongs in .env"


def test_secrets_come_from_the_env_file(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        for key, value in _environment(service).items():
            if any(word in key for word in SECRET_WORDS):
                assert _REFERENCE.fullmatch(value), f"{name}: {key} must come from .env"
        command = _command(service)
        for index, argument in enumerate(command):
            if argument.startswith("-") and re.search(r"secret|pass", argument, re.I):
                flag, equals, value = argument.partition("=")
                value = value if equals else command[index + 1]
                assert _variables(value), f"{name}: a literal secret after {flag}"
    for server in _servers(compose).values():
        environment = _environment(server)
        assert _variables(environment["HOINGHI_DATABASE_URL"]) == {"POSTGRES_PASSWORD"}
        assert _variables(environment["HOINGHI_REDIS_URL"]) == {"REDIS_PASSWORD"}


def test_env_example_lists_exactly_the_variables_compose_reads(
    compose: dict[str, Any], env_example: dict[str, str]
) -> None:
    used = set().union(*(_variables(text) for text in _strings(compose)))
    assert sorted(used - set(env_example)) == [], "read by docker-compose.yml, not in .env.example"
    assert sorted(set(env_example) - used) == [], "in .env.example, never read"


def test_env_example_holds_placeholders_not_secrets(env_example: dict[str, str]) -> None:
    text = ENV_EXAMPLE.read_text()
    assert "openssl rand -hex 32" in text
    for name, value in env_example.items():
        if any(word in name for word in SECRET_WORDS):
            assert value == "" or value.startswith("change-me"), name
    assert env_example["HOINGHI_SEED_DEMO"] == "false"
    assert env_example["HOINGHI_PUBLIC_URL"].startswith("https://")
    # Each variable is explained in the comment lines right above it.
    for name in env_example:
        assert re.search(rf"#[^\n]*\n(?:#[^\n]*\n)*{name}=", text), f"{name} has no comment"


def test_proxy_keeps_websockets_on_one_server_and_names_both(
    compose: dict[str, Any],
) -> None:
    template = NGINX_TEMPLATE.read_text()
    servers = sorted(_servers(compose))
    upstreams = dict(re.findall(r"^upstream\s+(\S+)\s*\{(.*?)^\}", template, re.M | re.S))
    assert set(upstreams) == {"hoinghi", "hoinghi_meetings"}
    for name, body in upstreams.items():
        named = sorted(re.findall(r"^\s*server\s+([\w.-]+):8000\b", body, re.M))
        assert named == servers, (name, named)
    # Every socket of one meeting reaches the same process (its media lives there).
    assert re.search(r"hash \$hoinghi_meeting consistent;", upstreams["hoinghi_meetings"])
    ws = re.search(r"location /ws/ \{(.*?)\}", template, re.S)
    assert ws and "proxy_pass http://hoinghi_meetings;" in ws.group(1)
    timeout = re.search(r"proxy_read_timeout (\d+)s", ws.group(1))
    assert timeout and int(timeout.group(1)) >= 3600
    assert "proxy_set_header Upgrade $http_upgrade;" in template
    assert "proxy_set_header Connection $hoinghi_connection;" in template
    assert "client_max_body_size ${HOINGHI_MAX_UPLOAD_MB}m;" in template

    proxy = _services(compose)["proxy"]
    assert proxy["image"].startswith("nginx:")
    assert (
        "./deploy/nginx.conf.template:/etc/nginx/templates/default.conf.template:ro"
        in proxy["volumes"]
    )
    environment = _environment(proxy)
    for variable in re.findall(r"\$\{(HOINGHI_[A-Z0-9_]+)\}", template):
        assert variable in environment, f"the proxy's template needs {variable}"
    assert environment["NGINX_ENVSUBST_FILTER"] == "^HOINGHI_"
    assert set(proxy["ports"]) == {"80:80", "443:443"}
    for name in servers:
        assert name in _depends_on(proxy)


def test_turn_relay_range_is_the_one_documented() -> None:
    conf = TURN_CONF.read_text()
    low = re.search(r"^min-port=(\d+)$", conf, re.M)
    high = re.search(r"^max-port=(\d+)$", conf, re.M)
    assert low and high and int(low.group(1)) < int(high.group(1))
    doc = DEPLOY_DOC.read_text()
    assert f"{low.group(1)}-{high.group(1)}" in doc, "docs/deploy.md must give the relay range"
    assert "3478" in doc and "443" in doc


# --- the image ------------------------------------------------------------------------


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    lines: list[str] = []
    pending = ""
    for raw in DOCKERFILE.read_text().splitlines():
        stripped = raw.strip()
        if not pending and (not stripped or stripped.startswith("#")):
            continue
        if stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(pending + stripped)
        pending = ""
    instructions = []
    for line in lines:
        keyword, _, arguments = line.partition(" ")
        instructions.append((keyword.upper(), arguments.strip()))
    return instructions


def _exec_form(arguments: str) -> list[str]:
    parsed = json.loads(arguments) if arguments.startswith("[") else shlex.split(arguments)
    assert isinstance(parsed, list)
    return [str(part) for part in parsed]


def test_dockerfile_runs_hoinghi_as_an_unprivileged_user() -> None:
    instructions = _dockerfile()
    froms = [args for keyword, args in instructions if keyword == "FROM"]
    assert froms and froms[-1].split()[0] == "python:3.11-slim"

    users = [args for keyword, args in instructions if keyword == "USER"]
    assert users, "the image must not run as root"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0")

    entrypoint = [_exec_form(a) for k, a in instructions if k == "ENTRYPOINT"]
    command = [_exec_form(a) for k, a in instructions if k == "CMD"]
    runs = (entrypoint[-1] if entrypoint else []) + (command[-1] if command else [])
    assert runs[:2] == ["hoinghi", "serve"], runs
    assert _option(runs, "--host") == "0.0.0.0"
    port = _option(runs, "--port")
    assert port in " ".join(args for k, args in instructions if k == "EXPOSE").split()

    checks = [args for keyword, args in instructions if keyword == "HEALTHCHECK"]
    assert checks and f"127.0.0.1:{port}/readyz" in checks[-1]
    assert any("/data" in args for keyword, args in instructions if keyword == "VOLUME")
    environment = " ".join(args for keyword, args in instructions if keyword == "ENV")
    assert "HOINGHI_DATA_DIR=/data" in environment
    assert "HOINGHI_STATIC_DIR=/app/static" in environment  # static/ is not package data

    for keyword, args in instructions:
        if keyword == "RUN" and "pip install" in args:
            assert "[test]" not in args and " -e " not in args, args


def test_dockerignore_keeps_secrets_and_local_data_out() -> None:
    ignored = {line.strip() for line in DOCKERIGNORE.read_text().splitlines()}
    for pattern in (".env", ".venv", ".git", "hoinghi-data", "backups"):
        assert pattern in ignored, pattern
    copied = {
        args.split()[0]
        for keyword, args in _dockerfile()
        if keyword == "COPY" and not args.startswith("--")
    }
    assert copied == {"pyproject.toml", "README.md", "server", "rooms", "agenda", "static"}
    assert not copied & ignored


# --- nginx -t -------------------------------------------------------------------------


def _nginx() -> str | None:
    configured = os.environ.get("HOINGHI_TEST_NGINX")
    if configured:
        return configured
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx", "/usr/local/sbin/nginx") if Path(p).exists()), None
    )


def _nginx_version(binary: str) -> tuple[int, ...]:
    shown = subprocess.run([binary, "-v"], capture_output=True, text=True, check=True)
    found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", shown.stderr + shown.stdout)
    assert found, shown.stderr
    return tuple(int(part) for part in found.groups())


def _self_signed(directory: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "hoinghi.test")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    directory.mkdir()
    (directory / "fullchain.pem").write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    (directory / "privkey.pem").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def test_nginx_accepts_the_proxy_configuration(
    compose: dict[str, Any], env_example: dict[str, str], tmp_path: Path
) -> None:
    binary = _nginx()
    if binary is None:
        pytest.skip(
            "nginx -t skipped: no nginx binary (apt-get install nginx, or HOINGHI_TEST_NGINX)"
        )
    version = _nginx_version(binary)
    # What the nginx image does at start: ${HOINGHI_*} from the proxy's environment.
    environment = _interpolated(_environment(_services(compose)["proxy"]), env_example)
    text = re.sub(
        r"\$\{(HOINGHI_[A-Z0-9_]+)\}", lambda m: environment[m.group(1)], NGINX_TEMPLATE.read_text()
    )
    # This machine has neither the certificates nor the servers' names: stand-ins for both.
    text = text.replace("/etc/nginx/certs/", f"{tmp_path / 'certs'}/")
    for number, server in enumerate(sorted(_servers(compose)), 1):
        text = re.sub(rf"\b{re.escape(server)}:8000\b", f"127.0.0.{number}:8000", text)
    if version < (1, 25, 1):
        # `http2 on;` came with nginx 1.25.1 (the image runs a later one): check the rest.
        text = re.sub(r"^\s*http2 on;\n", "", text, flags=re.M)
    _self_signed(tmp_path / "certs")
    (tmp_path / "default.conf").write_text(text)
    temp = {kind: tmp_path / kind for kind in ("body", "proxy", "fastcgi", "uwsgi", "scgi")}
    (tmp_path / "nginx.conf").write_text(
        f"pid {tmp_path / 'nginx.pid'};\n"
        "error_log stderr;\n"
        "events {}\n"
        "http {\n"
        f"    client_body_temp_path {temp['body']};\n"
        f"    proxy_temp_path {temp['proxy']};\n"
        f"    fastcgi_temp_path {temp['fastcgi']};\n"
        f"    uwsgi_temp_path {temp['uwsgi']};\n"
        f"    scgi_temp_path {temp['scgi']};\n"
        f"    include {tmp_path / 'default.conf'};\n"
        "}\n"
    )
    checked = subprocess.run(
        [binary, "-t", "-p", str(tmp_path), "-c", str(tmp_path / "nginx.conf")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    assert "test is successful" in checked.stderr
