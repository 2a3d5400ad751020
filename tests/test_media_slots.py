"""Slots and outlets on their own: keyframe gating, source switches with continuous
timestamps, bounded queues, keyframe requests, nobody hears themselves."""

from __future__ import annotations

import asyncio

from rooms.media.slots import Frame, Outlet, Slot, h264_keyframe, is_keyframe, vp8_keyframe

KEY = b"\x10\x02\x00\x9d\x01\x2a"  # VP8 frame tag with the key-frame bit clear
DELTA = b"\x11\x02\x00"


def _frame(ts: int, key: bool = False) -> Frame:
    return Frame(KEY if key else DELTA, ts, 90_000, key)


def _slot(requests: list[str], video: bool = True) -> Slot:
    return Slot("main", video, requests.append)


def _drain(outlet: Outlet) -> list[int]:
    out = []
    while len(outlet):
        item = outlet._queue.popleft()
        out.append(item.timestamp)
    return out


def test_keyframe_detection() -> None:
    assert vp8_keyframe(KEY) and not vp8_keyframe(DELTA) and not vp8_keyframe(b"")
    assert h264_keyframe(b"\x00\x00\x00\x01\x67\x42") and h264_keyframe(b"\x00\x00\x01\x65\x88")
    assert not h264_keyframe(b"\x00\x00\x00\x01\x41\x9a")
    assert is_keyframe("opus", b"\x01") and is_keyframe("vp8", KEY)


def test_a_new_subscriber_waits_for_a_keyframe_and_asks_for_one() -> None:
    requests: list[str] = []
    slot = _slot(requests)
    slot.set_source("u:1")
    assert requests == []  # nobody watches yet: no reason to ask
    outlet = slot.add(Outlet("p:7", video=True))
    assert requests == ["u:1"]
    assert slot.push("u:1", _frame(3000), 0.0) == 0
    assert slot.push("u:1", _frame(6000, key=True), 0.033) == 1
    assert slot.push("u:1", _frame(9000), 0.066) == 1
    assert _drain(outlet) == [6000, 9000]
    assert outlet.dropped == 1


def test_frames_from_anyone_but_the_source_are_ignored() -> None:
    slot = _slot([])
    slot.set_source("u:1")
    outlet = slot.add(Outlet("p:7", video=True))
    assert slot.push("p:9", _frame(0, key=True), 0.0) == 0
    assert len(outlet) == 0


def test_nobody_receives_their_own_media() -> None:
    slot = _slot([], video=False)
    slot.set_source("p:7")
    own = slot.add(Outlet("p:7", video=False))
    other = slot.add(Outlet("p:8", video=False))
    assert slot.push("p:7", Frame(b"opus", 960, 48_000, True), 0.0) == 1
    assert len(own) == 0 and len(other) == 1


def test_a_switch_keeps_time_continuous_and_gates_until_the_new_keyframe() -> None:
    requests: list[str] = []
    slot = _slot(requests)
    outlet = slot.add(Outlet("p:7", video=True))
    slot.set_source("p:1")
    slot.push("p:1", _frame(1_000_000, key=True), 10.0)
    slot.push("p:1", _frame(1_003_000), 10.0333)
    requests.clear()
    # The floor passes to p:2, whose own clock is somewhere else entirely.
    slot.set_source("p:2")
    assert requests == ["p:2"]
    slot.push("p:1", _frame(1_006_000), 10.0666)  # the old source's late frame: ignored
    slot.push("p:2", _frame(50, key=False), 10.1)  # not decodable without its keyframe
    slot.push("p:2", _frame(3050, key=True), 10.2333)
    slot.push("p:2", _frame(6050), 10.2666)
    stamps = _drain(outlet)
    assert stamps[:2] == [1_000_000, 1_003_000]
    # The new source continues where the stream was, as far on as wall time had moved
    # when its first frame came (0.0667 s), then at its own pace.
    assert stamps[2] == 1_003_000 + round((10.1 - 10.0333) * 90_000) + 3000
    assert stamps[3] - stamps[2] == 3000
    assert stamps == sorted(stamps)


def test_a_slow_subscriber_drops_to_the_next_keyframe_and_the_others_do_not() -> None:
    requests: list[str] = []
    slot = _slot(requests)
    slot.set_source("u:1")
    slow = slot.add(Outlet("p:slow", video=True, capacity=5))
    fast = slot.add(Outlet("p:fast", video=True, capacity=100))
    requests.clear()
    slot.push("u:1", _frame(0, key=True), 0.0)
    for i in range(1, 10):
        slot.push("u:1", _frame(i * 3000), i / 30)
        _drain(fast)
    assert slow.awaiting_keyframe and len(slow) < 5
    assert requests == ["u:1"]  # the overflow asked the source for a fresh keyframe
    assert fast.dropped == 0
    slot.push("u:1", _frame(30_000, key=True), 0.4)
    assert not slow.awaiting_keyframe and _drain(slow)[-1] == 30_000


def test_audio_overflow_drops_without_waiting_for_anything() -> None:
    slot = _slot([], video=False)
    slot.set_source("u:1")
    outlet = slot.add(Outlet("p:7", video=False, capacity=3))
    for i in range(5):
        slot.push("u:1", Frame(b"o", i * 960, 48_000, True), i * 0.02)
    assert 0 < len(outlet) <= 3 and outlet.dropped > 0 and not outlet.awaiting_keyframe


def test_a_lost_picture_is_asked_again_of_the_source() -> None:
    requests: list[str] = []
    slot = _slot(requests)
    slot.set_source("u:1")
    slot.add(Outlet("p:7", video=True))
    requests.clear()
    slot.keyframe_wanted("p:7")
    slot.keyframe_wanted("p:unknown")
    assert requests == ["u:1"]


async def test_an_outlet_hands_frames_to_its_reader_and_ends_when_closed() -> None:
    slot = _slot([])
    slot.set_source("u:1")
    outlet = slot.add(Outlet("p:7", video=True))
    reader = asyncio.create_task(outlet.next())
    await asyncio.sleep(0)
    slot.push("u:1", _frame(3000, key=True), 0.0)
    item = await asyncio.wait_for(reader, 1)
    assert item is not None and item.keyframe and item.payload == KEY
    waiting = asyncio.create_task(outlet.next())
    await asyncio.sleep(0)
    slot.remove("p:7")
    assert await asyncio.wait_for(waiting, 1) is None


async def test_keyframe_requests_to_one_source_are_throttled_but_never_lost() -> None:
    from rooms.media.room import KeyframeThrottle

    sent: list[tuple[str, float]] = []
    loop = asyncio.get_running_loop()
    throttle = KeyframeThrottle(lambda source: sent.append((source, loop.time())), interval=0.2)
    start = loop.time()
    throttle.request("u:1")
    throttle.request("u:1")  # inside the interval: deferred, not dropped
    throttle.request("u:1")  # and coalesced with the one already waiting
    throttle.request("p:2")  # another source has its own budget
    assert [s for s, _ in sent] == ["u:1", "p:2"]
    await asyncio.sleep(0.3)
    assert [s for s, _ in sent] == ["u:1", "p:2", "u:1"]
    assert sent[2][1] - start >= 0.19
    throttle.close()
