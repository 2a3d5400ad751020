"""uvicorn's per-socket INFO lines are not made; its warnings and errors still are."""

from __future__ import annotations

import logging

from server import quiet_sockets


def test_uvicorn_keeps_warnings_only_once_installed() -> None:
    logger = logging.getLogger(quiet_sockets.UVICORN_LOGGER)
    before = logger.level
    try:
        logger.setLevel(logging.INFO)
        quiet_sockets.install()
        assert not logger.isEnabledFor(logging.INFO)
        assert logger.isEnabledFor(logging.WARNING)
    finally:
        logger.setLevel(before)
