"""Settings from the environment (prefix ``HOINGHI_``); README.md lists every one."""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

SECRET_KEY_FILE = "secret_key"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="HOINGHI_", extra="ignore")

    data_dir: Path = Path("hoinghi-data")
    database_url: str = ""
    redis_url: str = ""
    # Keys and channels of this deployment in Redis start with this (several may share one).
    redis_prefix: str = "hoinghi"
    secret_key: str = ""
    public_url: str = ""

    max_upload_mb: int = Field(default=100, ge=1)
    max_pdf_pages: int = Field(default=2000, ge=1)
    # Reading an uploaded PDF runs in a child process bounded by these.
    pdf_parse_seconds: float = Field(default=60, gt=0)
    pdf_parse_memory_mb: int = Field(default=1024, ge=256)
    # Signatures: an RFC 3161 timestamp service (default: the built-in demo CA's, in-process),
    # and the passphrase of the built-in CA's keys (default: derived from the secret key).
    tsa_url: str = ""
    ca_passphrase: str = ""
    # Processes that watermark copies, build agenda packs and draw page images
    # (0: one per CPU core).
    paper_workers: int = Field(default=0, ge=0, le=64)
    paper_memory_mb: int = Field(default=4096, ge=512)

    session_hours: float = Field(default=12, gt=0)
    login_max_failures: int = Field(default=5, ge=1)
    login_slowdown_after: int = Field(default=3, ge=0)
    login_lock_minutes: float = Field(default=15, gt=0)
    point_online_seconds: int = Field(default=90, ge=5)
    seed_demo: bool = True
    # Room sockets: messages a client may send per second on average, and in a burst.
    ws_messages_per_second: float = Field(default=20, gt=0)
    ws_burst: int = Field(default=40, ge=1)
    # Media: the server forwards audio and video (aiortc) unless turned off.
    media_enabled: bool = True
    # Media worker processes this server starts (0: media runs in the server process), or
    # the addresses (host:port, comma-separated) of workers started elsewhere with
    # `hoinghi media-worker`, which share HOINGHI_MEDIA_SECRET with the server.
    media_workers: int = Field(default=0, ge=0, le=64)
    media_worker_addresses: str = ""
    media_secret: str = ""
    # A meeting fills a worker up to this many peer connections before using another.
    media_peers_per_worker: int = Field(default=80, ge=1)
    # STUN/TURN server URLs for clients and the server's own peers, comma-separated,
    # e.g. "stun:turn.tinh.gov.vn:3478,turn:turn.tinh.gov.vn:3478?transport=udp".
    ice_servers: str = ""
    # coturn's static-auth-secret: TURN credentials are derived from it, valid this long.
    turn_secret: str = ""
    turn_credential_seconds: int = Field(default=6 * 3600, ge=60)

    # Point health: a point in a meeting is "degraded" past these (docs/operations.md);
    # alerts go to the chair, the IT staff and, if set, this URL (JSON POST).
    health_loss_pct: float = Field(default=5.0, gt=0)
    health_rtt_ms: float = Field(default=400.0, gt=0)
    health_jitter_ms: float = Field(default=80.0, gt=0)
    health_silent_kbps: float = Field(default=8.0, ge=0)
    health_check_seconds: float = Field(default=10.0, gt=0)
    alert_webhook_url: str = ""
    # GET /metrics: this bearer token is required; without one, only this host may scrape.
    metrics_token: str = ""
    # Logs: "text" (default) or "json", one object per line.
    log_format: str = Field(default="text", pattern="^(text|json)$")
    # Before a meeting: readiness of the invited points is shown this long before it starts.
    readiness_minutes: int = Field(default=30, ge=1)

    # Written opinions: remind unanswered recipients this many hours before the deadline
    # (comma-separated; one reminder per lead time).
    opinion_reminder_hours: str = "72,24,2"

    # The province's zone: calendars and the web client show times in it.
    timezone: str = "Asia/Ho_Chi_Minh"
    # The web client; the default is the source tree's static/ (installs are editable).
    static_dir: Path = Path(__file__).resolve().parent.parent / "static"

    @field_validator("public_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        return value.rstrip("/")

    @field_validator("media_worker_addresses")
    @classmethod
    def _host_ports(cls, value: str) -> str:
        for address in filter(None, (part.strip() for part in value.split(","))):
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit() or not 0 < int(port) < 65536:
                raise ValueError(f"a media worker address is host:port, not {address!r}")
        return value

    @field_validator("ice_servers")
    @classmethod
    def _ice_urls(cls, value: str) -> str:
        for url in filter(None, (part.strip() for part in value.split(","))):
            if not url.startswith(("stun:", "turn:", "turns:")):
                raise ValueError(f"an ICE server URL starts with stun:, turn: or turns:: {url!r}")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}") from exc
        return value

    @field_validator("opinion_reminder_hours")
    @classmethod
    def _lead_hours(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            if not part.isdigit() or not 1 <= int(part) <= 24 * 365:
                raise ValueError(f"a reminder lead time is a number of hours, not {part!r}")
        return value

    @property
    def reminder_lead_hours(self) -> tuple[int, ...]:
        parts = (p.strip() for p in self.opinion_reminder_hours.split(","))
        return tuple(sorted({int(p) for p in parts if p}, reverse=True))

    @property
    def ice_server_urls(self) -> list[str]:
        return [part.strip() for part in self.ice_servers.split(",") if part.strip()]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def cookie_secure(self) -> bool:
        return self.public_url.startswith("https://")


def load_settings(**overrides: object) -> Settings:
    """Read the environment, fill the defaults that depend on the data directory.

    Creates the data directory and, when no secret key is configured, a random one kept in
    ``DATA_DIR/secret_key`` so sessions survive a restart.
    """
    settings = Settings(**overrides)  # type: ignore[arg-type]
    data_dir = settings.data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    updates: dict[str, object] = {"data_dir": data_dir}
    if not settings.database_url:
        updates["database_url"] = f"sqlite+aiosqlite:///{data_dir / 'hoinghi.sqlite3'}"
    if not settings.secret_key:
        updates["secret_key"] = _stored_secret_key(data_dir)
    return settings.model_copy(update=updates)


def _stored_secret_key(data_dir: Path) -> str:
    path = data_dir / SECRET_KEY_FILE
    if path.exists():
        return path.read_text().strip()
    key = secrets.token_urlsafe(48)
    # Write aside, then link into place: two processes starting at once agree on one key
    # and neither can read a half-written file.
    tmp = path.with_name(f".{SECRET_KEY_FILE}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key + "\n")
    try:
        os.link(tmp, path)
    except FileExistsError:
        key = path.read_text().strip()
    finally:
        tmp.unlink()
    return key
