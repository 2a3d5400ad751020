"""The track a forwarding sender reads: encoded packets from one outlet, never decoded."""

from __future__ import annotations

import fractions

import av
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from rooms.media.slots import Outlet


def packet(data: bytes, timestamp: int, clock_rate: int) -> av.Packet:
    """What aiortc's sender packetizes without encoding (its codecs' ``pack``)."""
    out = av.Packet(data)
    out.pts = timestamp
    out.time_base = fractions.Fraction(1, clock_rate)
    return out


class OutletTrack(MediaStreamTrack):
    def __init__(self, kind: str, outlet: Outlet) -> None:
        super().__init__()
        self.kind = kind
        self.outlet = outlet

    async def recv(self) -> av.Packet:
        item = await self.outlet.next()
        if item is None:
            self.stop()
            raise MediaStreamError
        payload: av.Packet = item.payload
        return payload

    def stop(self) -> None:
        self.outlet.close()
        super().stop()
