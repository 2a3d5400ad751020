"""The points of `python -m bench chaos`, in client processes of their own: each answers the
roll call, votes once in the poll, raises its hand now and then, and is dropped at random."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from typing import Any

from bench.chaos_client import MARKER, Member

# --- a point, in a client process -------------------------------------------------------------


class Point:
    """A conference point: answers the roll call, votes once in every poll it may vote in,
    raises its hand now and then, and is dropped at random."""

    def __init__(self, index: int, token: str, member_args: dict[str, Any], seed: int) -> None:
        self.index = index
        self.rng = random.Random(f"{seed}:point:{index}")
        self.member = Member(
            token,
            rng=self.rng,
            home=index % len(member_args["urls"]),
            on_event=self._event,
            on_attach=self._attached,
            on_detach=self._detached,
            **member_args,
        )
        self.marker = asyncio.Event()
        self.marker_seq: int | None = None
        self.answered: set[int] = set()  # roll calls answered (or being answered)
        self.voting: set[int] = set()  # polls voted in (or being voted in)
        self.ballots: dict[int, dict[str, Any]] = {}  # poll -> what happened to the ballot
        self.answers: dict[int, dict[str, Any]] = {}  # roll call -> what happened
        self.hands = Counter[str]()
        self.tasks: set[asyncio.Task[None]] = set()
        self.answer_spread = 10.0
        self.vote_spread = 10.0
        self.flags: Any = None  # shared arrays: attached, answered, voted (by index)

    def _start(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    def _event(self, frame: dict[str, Any]) -> None:
        kind, data = frame["event"], frame["data"]
        if kind == "roll_call.opened":
            self._answer(data["number"])
        elif kind == "poll.opened" and self.member.key in data["eligible"]:
            self._vote(data["number"], len(data["options"]))
        elif kind == "chat.sent" and data.get("text") == MARKER:
            self.marker_seq = frame["seq"]
            self.marker.set()

    def _attached(self, frame: dict[str, Any]) -> None:
        if self.flags is not None:
            self.flags["attached"][self.index] = 1
        if frame["type"] != "welcome":
            return
        snapshot = frame["snapshot"]  # a fresh welcome: what is open now is in it
        roll_call = snapshot.get("roll_call")
        if roll_call and self.member.key not in (roll_call.get("answers") or {}):
            self._answer(roll_call["number"])
        poll = snapshot.get("poll")
        if poll and poll.get("may_vote") and poll.get("my_ballot") is None:
            self._vote(poll["number"], len(poll["options"]))

    def _detached(self) -> None:
        if self.flags is not None:
            self.flags["attached"][self.index] = 0

    def _answer(self, number: int) -> None:
        if number in self.answered:
            return
        self.answered.add(number)

        async def answer() -> None:
            await asyncio.sleep(self.rng.uniform(0, self.answer_spread))
            head_count = self.rng.randint(3, 30)
            reply = await self.member.command("answer_roll_call", head_count=head_count)
            self.answers[number] = {"head_count": head_count, "reply": reply}
            if self.flags is not None and reply["type"] == "ack":
                self.flags["answered"][self.index] = 1

        self._start(answer())

    def _vote(self, number: int, options: int) -> None:
        if number in self.voting:
            return
        self.voting.add(number)

        async def vote() -> None:
            await asyncio.sleep(self.rng.uniform(0, self.vote_spread))
            option = self.rng.randrange(options)
            before = self.member.commands_resent
            sent_at = time.time()
            reply = await self.member.command("cast_ballot", poll=number, option=option)
            self.ballots[number] = {
                "option": option,
                "reply": reply,
                # Resent after a reconnection at least once (the same command id).
                "resent": self.member.commands_resent > before,
                "seconds": round(time.time() - sent_at, 3),
            }
            if self.flags is not None and reply["type"] == "ack":
                self.flags["voted"][self.index] = 1

        self._start(vote())

    async def raise_hand(self) -> None:
        reply = await self.member.command("raise_hand")
        self.hands[reply.get("code", "ack")] += 1

    def record(self) -> dict[str, Any]:
        return {
            **self.member.record(),
            "index": self.index,
            "marker_seq": self.marker_seq,
            "ballots": self.ballots,
            "answers": self.answers,
            "hands": dict(self.hands),
        }


# --- a client process: a share of the points ---------------------------------------------------


def point_process(
    tokens: list[tuple[int, str]], config: dict[str, Any], shared: dict[str, Any], out: Any
) -> None:
    asyncio.run(_points(tokens, config, shared, out))


async def _until_set(event: Any) -> None:
    """Wait for a multiprocessing Event (set by another process) without blocking the loop."""
    while not event.is_set():  # noqa: ASYNC110 (not an asyncio.Event)
        await asyncio.sleep(0.1)


async def _points(
    tokens: list[tuple[int, str]], config: dict[str, Any], shared: dict[str, Any], out: Any
) -> None:
    member_args = {"urls": config["urls"], "meeting_id": config["meeting_id"]}
    points = [Point(index, token, member_args, config["seed"]) for index, token in tokens]
    for point in points:
        point.flags = shared
        point.answer_spread, point.vote_spread = config["answer_spread"], config["vote_spread"]
    runners = [asyncio.create_task(p.member.run()) for p in points]
    await _until_set(shared["go"])
    chaos = [asyncio.create_task(_drops(p, config, shared)) for p in points]
    chaos += [asyncio.create_task(_hands(p, config, shared)) for p in points]
    await _until_set(shared["stop"])
    for task in chaos:
        task.cancel()
    await asyncio.gather(*chaos, return_exceptions=True)
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(config["settle_timeout"]):
            await asyncio.gather(*(p.marker.wait() for p in points))
    records = [p.record() for p in points]
    for point in points:
        await point.member.finish()
    for runner in runners:
        runner.cancel()
    await asyncio.gather(*runners, return_exceptions=True)
    out.put(records)


async def _drops(point: Point, config: dict[str, Any], shared: dict[str, Any]) -> None:
    """Drop this point at random: a clean close or a cut socket, back after a pause."""
    rng = random.Random(f"{config['seed']}:drops:{point.index}")
    while True:
        await asyncio.sleep(rng.expovariate(1 / config["drop_every"]))
        how, pause = rng.choice(("close", "abort")), rng.uniform(*config["pause"])
        if not shared["calm"].is_set():
            await point.member.drop(how, pause)


async def _hands(point: Point, config: dict[str, Any], shared: dict[str, Any]) -> None:
    rng = random.Random(f"{config['seed']}:hands:{point.index}")
    while True:
        await asyncio.sleep(rng.expovariate(1 / config["hand_every"]))
        if point.member.attached:
            await point.raise_hand()
