"""Keeps uvicorn from logging every WebSocket that opens.

uvicorn logs two INFO lines per socket ("WebSocket /ws/meetings/1 [accepted]", "connection
open") on its "uvicorn.error" logger; a province meeting opening is 200-1,000 sockets at
once, and making those records (logging walks the stack for each) cost more CPU than the
joins themselves (measured with py-spy on `python -m bench signaling`). Once the app has
started, that logger keeps warnings and errors only; `hoinghi serve` prints its own start
lines, and who joined and left is in the room's event log.
"""

from __future__ import annotations

import logging

UVICORN_LOGGER = "uvicorn.error"


def install() -> None:
    logger = logging.getLogger(UVICORN_LOGGER)
    if logger.getEffectiveLevel() < logging.WARNING:
        logger.setLevel(logging.WARNING)
