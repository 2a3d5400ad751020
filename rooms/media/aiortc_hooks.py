"""The three places where hoinghi reaches inside aiortc, and nowhere else.

aiortc has no public API for forwarding media without decoding it. Forwarding needs:

1. the encoded frames a receiver reassembles, before its decoder thread decodes them;
2. a way to ask a publisher for a keyframe (RTCP PLI) from its receiver;
3. to hear a subscriber's PLI/FIR at a sender fed with encoded packets (aiortc only flags
   its encoder, which a forwarding sender does not use).

All three use private names of aiortc 1.16.0, which pyproject.toml pins exactly.
``check()`` runs at start-up and in the tests: an upgrade that moves any of them fails
loudly there rather than silently freezing every video.

The hooks act on one receiver or sender object at a time, never on the aiortc module, so
aiortc peers in the same process (the tests' clients, the point agent) keep decoding.
"""

from __future__ import annotations

import asyncio
import logging
import queue
from collections.abc import Callable
from typing import Any

import aiortc
from aiortc import RTCRtpReceiver, RTCRtpSender

log = logging.getLogger(__name__)

AIORTC_VERSION = "1.16.0"
_DECODER_QUEUE = "_RTCRtpReceiver__decoder_queue"
_RECEIVER_SSRCS = "_RTCRtpReceiver__remote_streams"


class HookUnavailable(RuntimeError):
    """The installed aiortc does not have what forwarding relies on."""


def check() -> None:
    """Fail unless the installed aiortc has the internals the hooks use."""
    if aiortc.__version__ != AIORTC_VERSION:
        raise HookUnavailable(
            f"media forwarding is written for aiortc {AIORTC_VERSION}, "
            f"found {aiortc.__version__}: check rooms/media/aiortc_hooks.py against it"
        )
    from aiortc import RTCRtpTransceiver

    if "_offerDirection" not in RTCRtpTransceiver("audio", None, None).__dict__:  # type: ignore[arg-type]
        raise HookUnavailable("aiortc RTCRtpTransceiver._offerDirection is gone")
    for owner, name in (
        (RTCRtpReceiver, "_send_rtcp_pli"),
        (RTCRtpReceiver, "_handle_rtp_packet"),
        (RTCRtpSender, "_send_keyframe"),
        (RTCRtpSender, "_handle_rtcp_packet"),
    ):
        if not callable(getattr(owner, name, None)):
            raise HookUnavailable(f"aiortc {owner.__name__}.{name} is gone")


class _FrameTap:
    """Stands in for a receiver's decoder queue: complete encoded frames go to ``on_frame``
    on the event loop, as they are reassembled; the decoder thread stays idle and only
    wakes to end (``None``), which still ends the receiver's track as aiortc expects."""

    def __init__(self, original: queue.Queue[Any], on_frame: Callable[[Any, Any], None]) -> None:
        self._original = original
        self._on_frame = on_frame

    def put(self, item: Any) -> None:
        if item is None:
            self._original.put(None)
            return
        codec, frame = item
        try:
            self._on_frame(codec, frame)
        except Exception:  # one bad frame must not stop the receiver
            log.exception("media: forwarding a frame failed")

    def get(self, *args: Any, **kwargs: Any) -> Any:
        return self._original.get(*args, **kwargs)


def tap_encoded_frames(receiver: RTCRtpReceiver, on_frame: Callable[[Any, Any], None]) -> None:
    """Give ``on_frame(codec, frame)`` every encoded frame the receiver reassembles
    (``frame.data``: bytes, ``frame.timestamp``: media clock, starting near 0). Call it
    before the connection starts (in the ``track`` handler): the receiver's decoder then
    decodes nothing."""
    original = getattr(receiver, _DECODER_QUEUE, None)
    if not isinstance(original, queue.Queue):
        raise HookUnavailable("aiortc RTCRtpReceiver has no decoder queue to tap")
    setattr(receiver, _DECODER_QUEUE, _FrameTap(original, on_frame))


def request_keyframe(receiver: RTCRtpReceiver) -> bool:
    """Ask the publisher behind ``receiver`` for a keyframe (RTCP PLI on each SSRC it has
    sent). False when nothing has arrived yet to address the request to."""
    ssrcs = list(getattr(receiver, _RECEIVER_SSRCS, {}).keys())
    for ssrc in ssrcs:
        task = asyncio.ensure_future(receiver._send_rtcp_pli(ssrc))
        task.add_done_callback(_log_failure)
    return bool(ssrcs)


def remote_sends(transceiver: Any) -> bool:
    """Whether the remote offer sends media on this m-line. aiortc keeps the offer's
    direction privately, seen from our side ("recvonly": we receive, the remote sends)."""
    return transceiver._offerDirection in ("recvonly", "sendrecv")


def on_keyframe_request(sender: RTCRtpSender, callback: Callable[[], None]) -> None:
    """Call ``callback`` when the subscriber behind ``sender`` sends PLI or FIR."""
    # The sender's RTCP handler calls self._send_keyframe(): an attribute of this one
    # instance shadows the class's method.
    sender._send_keyframe = callback  # type: ignore[method-assign]


def _log_failure(task: asyncio.Future[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.debug("media: keyframe request not sent: %s", task.exception())
