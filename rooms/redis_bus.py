"""Rooms shared by several server processes, through Redis.

- Ownership: a lease per room (``SET NX PX``), renewed by its owner every third of its
  lifetime. A process that dies stops renewing; the lease lapses and the next process that
  needs the room claims it and rebuilds the room from the event log. Each claim increments
  the room's epoch, kept with the lease (for the logs: who owned what, when).
- Events: the owner publishes each batch on one channel; every process hands them to its
  own connections of that meeting (the owner to its own directly).
- Commands from a process that does not own the room are forwarded to the owner's own
  channel and answered on the sender's.
- Liveness: each process keeps a short-lived key; a rebuilt room drops the connections of
  processes whose key is gone.

Pub/sub is at-most-once: a message lost while Redis restarts shows up as a gap in ``seq``,
which each connection fills from the event log.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

from rooms import codec
from rooms.bus import EventsHandler, ForwardHandler, NoticeHandler, new_process_id
from rooms.state import Event

log = logging.getLogger(__name__)

LEASE_MS = 3000
# Shorter than a lease: a dead process counts as gone before its rooms are claimed, so the
# claimer drops its connections.
ALIVE_MS = 2500
FORWARD_TIMEOUT_S = 5.0
EPOCH_TTL_S = 7 * 24 * 3600

# Renew only our own lease; re-take it if Redis lost it (a restart) and nobody else has.
_RENEW = """
local current = redis.call('GET', KEYS[1])
if current == false then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if string.sub(current, 1, string.len(ARGV[3])) == ARGV[3] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
return 0
"""
_RELEASE = """
local current = redis.call('GET', KEYS[1])
if current and string.sub(current, 1, string.len(ARGV[1])) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class OwnerUnreachable(Exception):
    """The room's owner did not answer a forwarded command in time."""


class RedisBus:
    def __init__(self, url: str, prefix: str = "hoinghi", proc_id: str | None = None) -> None:
        self.proc_id = proc_id or new_process_id()
        self._url = url
        self._prefix = prefix
        self._redis: redis.Redis | None = None
        self._owned: dict[int, str] = {}  # meeting id -> lease value
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._serving: set[asyncio.Task[None]] = set()
        self._on_events: EventsHandler | None = None
        self._on_notice: NoticeHandler | None = None
        self._on_forward: ForwardHandler | None = None

    # --- names --------------------------------------------------------------------------

    def _key(self, *parts: object) -> str:
        return ":".join([self._prefix, *map(str, parts)])

    @property
    def _events_channel(self) -> str:
        return self._key("events")

    @property
    def _notice_channel(self) -> str:
        return self._key("notices")

    def _inbox(self, proc_id: str) -> str:
        return self._key("proc", proc_id, "inbox")

    # --- life ---------------------------------------------------------------------------

    @property
    def client(self) -> redis.Redis:
        assert self._redis is not None, "the bus is not started"
        return self._redis

    async def start(
        self, on_events: EventsHandler, on_notice: NoticeHandler, on_forward: ForwardHandler
    ) -> None:
        self._on_events, self._on_notice, self._on_forward = on_events, on_notice, on_forward
        self._redis = redis.Redis.from_url(self._url, decode_responses=True)
        await self._redis.ping()
        await self._heartbeat_once()
        subscribed = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._listen(subscribed), name="bus-listen"),
            asyncio.create_task(self._keep_alive(), name="bus-alive"),
        ]
        await asyncio.wait_for(subscribed.wait(), 10)

    async def stop(self) -> None:
        for meeting_id in list(self._owned):
            await self.release(meeting_id)
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        if self._redis is not None:
            with contextlib.suppress(RedisError):
                await self._redis.hdel(self._key("alive"), self.proc_id)
            await self._redis.aclose()
        for future in self._pending.values():
            future.cancel()

    async def _listen(self, subscribed: asyncio.Event) -> None:
        """Receive events, notices and forwarded commands; reconnect if Redis goes away."""
        while True:
            pubsub = self.client.pubsub()
            try:
                await pubsub.subscribe(
                    self._events_channel, self._notice_channel, self._inbox(self.proc_id)
                )
                subscribed.set()
                async for message in pubsub.listen():
                    if message["type"] == "message":
                        self._dispatch(message["channel"], message["data"])
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("bus: lost Redis (%s); reconnecting", exc)
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _dispatch(self, channel: str, raw: str) -> None:
        try:
            message = json.loads(raw)
            if channel == self._events_channel:
                if message["from"] != self.proc_id and self._on_events is not None:
                    events = [codec.decode_event(e) for e in message["events"]]
                    self._on_events(message["meeting_id"], events)
            elif channel == self._notice_channel:
                if self._on_notice is not None:
                    self._on_notice(message)
            elif "reply" in message:
                future = self._pending.pop(message["correlation"], None)
                if future is not None and not future.done():
                    future.set_result(message["reply"])
            else:
                task = asyncio.get_running_loop().create_task(self._serve(message))
                self._serving.add(task)
                task.add_done_callback(self._serving.discard)
        except Exception:  # one bad message must not stop the listener
            log.exception("bus: could not handle a message on %s", channel)

    async def _serve(self, request: dict[str, Any]) -> None:
        assert self._on_forward is not None
        try:
            reply = await self._on_forward(request["meeting_id"], request["payload"])
        except Exception as exc:  # the sender must hear something, not wait for its timeout
            log.exception("bus: forwarded command failed")
            reply = {"unavailable": str(exc)}
        answer = {"correlation": request["correlation"], "reply": reply}
        await self.client.publish(self._inbox(request["from"]), json.dumps(answer))

    async def _heartbeat_once(self) -> None:
        now = str(_now_ms())
        await self.client.hset(self._key("alive"), self.proc_id, now)
        # When liveness began to be recorded: a Redis that restarted empty has no record
        # of the processes that are alive until each has beaten again.
        await self.client.set(self._key("alive_since"), now, nx=True)

    async def _keep_alive(self) -> None:
        while True:
            await asyncio.sleep(LEASE_MS / 3000)
            try:
                await self._heartbeat_once()
                for meeting_id, value in list(self._owned.items()):
                    kept = await self.client.eval(
                        _RENEW, 1, self._key("room", meeting_id, "owner"), value, LEASE_MS,
                        self.proc_id,
                    )  # fmt: skip
                    if not kept:
                        log.warning("bus: lost the lease of room %s", meeting_id)
                        self._owned.pop(meeting_id, None)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                log.warning("bus: could not renew leases: %s", exc)

    # --- Bus ----------------------------------------------------------------------------

    async def publish_events(self, meeting_id: int, events: list[Event]) -> None:
        if self._on_events is not None:
            self._on_events(meeting_id, events)  # our own connections, without a round trip
        message = {
            "from": self.proc_id,
            "meeting_id": meeting_id,
            "events": [codec.encode_event(e) for e in events],
        }
        await self.client.publish(self._events_channel, json.dumps(message, ensure_ascii=False))

    async def publish_notice(self, notice: dict[str, Any]) -> None:
        await self.client.publish(self._notice_channel, json.dumps(notice, ensure_ascii=False))

    async def claim(self, meeting_id: int) -> bool:
        if meeting_id in self._owned:
            return True
        epoch_key = self._key("room", meeting_id, "epoch")
        epoch = await self.client.incr(epoch_key)
        await self.client.expire(epoch_key, EPOCH_TTL_S)
        value = f"{self.proc_id}:{epoch}"
        if await self.client.set(
            self._key("room", meeting_id, "owner"), value, nx=True, px=LEASE_MS
        ):
            self._owned[meeting_id] = value
            log.info("bus: %s owns room %s (epoch %s)", self.proc_id, meeting_id, epoch)
            return True
        return False

    async def owns(self, meeting_id: int) -> bool:
        return meeting_id in self._owned

    async def release(self, meeting_id: int) -> None:
        value = self._owned.pop(meeting_id, None)
        if value is not None:
            with contextlib.suppress(RedisError):
                await self.client.eval(
                    _RELEASE, 1, self._key("room", meeting_id, "owner"), self.proc_id
                )

    async def owner_of(self, meeting_id: int) -> str | None:
        value = await self.client.get(self._key("room", meeting_id, "owner"))
        return str(value).rsplit(":", 1)[0] if value else None

    async def forward(self, meeting_id: int, payload: dict[str, Any]) -> dict[str, Any]:
        owner = await self.owner_of(meeting_id)
        if owner is None or owner == self.proc_id:
            raise OwnerUnreachable(f"room {meeting_id} has no owner")
        correlation = secrets.token_hex(8)
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[correlation] = future
        request = {
            "from": self.proc_id,
            "correlation": correlation,
            "meeting_id": meeting_id,
            "payload": payload,
        }
        try:
            await self.client.publish(self._inbox(owner), json.dumps(request, ensure_ascii=False))
            return await asyncio.wait_for(future, FORWARD_TIMEOUT_S)
        except TimeoutError as exc:
            raise OwnerUnreachable(f"the owner of room {meeting_id} did not answer") from exc
        finally:
            self._pending.pop(correlation, None)

    async def live_processes(self) -> set[str]:
        """The processes that have beaten lately (this one always). After Redis came back
        empty, wait until every live process has had time to beat again: absence means
        death only then (else a room rebuilt at once drops live processes' connections)."""
        since = await self.client.get(self._key("alive_since"))
        if since is None:
            await self._heartbeat_once()
            since = await self.client.get(self._key("alive_since"))
        wait_ms = int(since or 0) + ALIVE_MS - _now_ms()
        if wait_ms > 0:
            await asyncio.sleep(wait_ms / 1000)
        beats = {str(k): int(v) for k, v in (await self.client.hgetall(self._key("alive"))).items()}
        oldest = _now_ms() - ALIVE_MS
        gone = [proc for proc, at in beats.items() if at < oldest]
        if gone:
            await self.client.hdel(self._key("alive"), *gone)
        return {proc for proc, at in beats.items() if at >= oldest} | {self.proc_id}


def _now_ms() -> int:
    return int(time.time() * 1000)
