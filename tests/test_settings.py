"""Settings from HOINGHI_* and the secret key kept in the data directory."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from server.settings import SECRET_KEY_FILE, load_settings


def test_defaults_put_sqlite_and_a_secret_key_in_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("HOINGHI_DATABASE_URL", "HOINGHI_SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOINGHI_DATA_DIR", str(tmp_path / "d"))
    settings = load_settings()
    assert settings.data_dir == (tmp_path / "d").resolve()
    assert settings.database_url == f"sqlite+aiosqlite:///{settings.data_dir / 'hoinghi.sqlite3'}"
    key_file = settings.data_dir / SECRET_KEY_FILE
    assert key_file.read_text().strip() == settings.secret_key
    assert len(settings.secret_key) >= 48
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    # The key survives a restart.
    assert load_settings().secret_key == settings.secret_key


def test_environment_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOINGHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOINGHI_SECRET_KEY", "from-env")
    monkeypatch.setenv("HOINGHI_PUBLIC_URL", "https://hoinghi.example.gov.vn/")
    monkeypatch.setenv("HOINGHI_MAX_UPLOAD_MB", "20")
    settings = load_settings()
    assert settings.secret_key == "from-env"
    assert not (tmp_path / SECRET_KEY_FILE).exists()
    assert settings.public_url == "https://hoinghi.example.gov.vn"
    assert settings.cookie_secure is True
    assert settings.max_upload_mb == 20


def test_invalid_setting_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOINGHI_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("HOINGHI_MAX_UPLOAD_MB", "0")
    with pytest.raises(ValueError, match="max_upload_mb"):
        load_settings()
