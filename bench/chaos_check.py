"""The end of `python -m bench chaos`: every client's events against the persisted log, the
poll's result against the ballots the points cast, the roll call and attendance."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import datetime
from typing import Any

from rooms.audience import receives
from rooms.state import Event, Role

# Details of this many mismatching clients are printed.
SHOWN = 12


def event_logs(
    records: list[dict[str, Any]], log: list[Event], marker_seq: int, faults: list[dict[str, Any]]
) -> tuple[dict[str, Any], list[str]]:
    """Each client's received events (merged over its connections) against the events of
    the log addressed to it, from its first welcome up to the chair's closing marker."""
    by_seq = {e.seq: e for e in log}
    notes: list[str] = []
    checked: list[int] = []
    figures: Counter[str] = Counter()
    for record in records:
        if record["base_seq"] is None:
            figures["clients_never_welcomed"] += 1
            notes.append(f"{record.get('key') or record.get('index')}: never got a welcome")
            continue
        key, role = record["key"], Role(record["role"])
        windows = [(after, upto) for after, upto in record["fresh_welcomes"]]
        got = {seq: kind for seq, kind in record["events"] if seq <= marker_seq}
        expected: list[int] = []
        for event in log:
            if not record["base_seq"] < event.seq <= marker_seq:
                continue
            if not receives(event.kind, event.data, key, role):
                continue
            if any(after < event.seq <= upto for after, upto in windows):
                figures["events_replaced_by_snapshot"] += 1
                continue
            expected.append(event.seq)
        wanted = set(expected)
        missing = [s for s in expected if s not in got]
        unexpected = sorted(s for s in got if s not in wanted)
        wrong_kind = sorted(s for s in got if s in wanted and by_seq[s].kind != got[s])
        duplicates = [s for s in record["duplicates"] if s <= marker_seq]
        out_of_order = [s for s in record["out_of_order"] if s <= marker_seq]
        marker_missing = record.get("marker_seq", marker_seq) is None
        checked.append(len(expected))
        figures["missing_events"] += len(missing)
        figures["unexpected_events"] += len(unexpected)
        figures["wrong_kind_events"] += len(wrong_kind)
        figures["duplicate_events"] += len(duplicates)
        figures["out_of_order_events"] += len(out_of_order)
        figures["clients_without_marker"] += marker_missing
        bad = missing or unexpected or wrong_kind or duplicates or out_of_order or marker_missing
        if bad:
            figures["mismatches"] += 1
            if figures["mismatches"] <= SHOWN:
                notes.append(
                    _describe(record, by_seq, missing, unexpected, wrong_kind, duplicates, faults)
                    + (f" out_of_order={out_of_order[:10]}" if out_of_order else "")
                    + (" never got the marker" if marker_missing else "")
                )
    result: dict[str, Any] = {
        "clients_checked": len(checked),
        "events_checked": sum(checked),
        "events_checked_per_client": {
            "min": min(checked, default=0),
            "median": statistics.median(checked) if checked else 0,
            "max": max(checked, default=0),
        },
    }
    for name in (
        "mismatches",
        "missing_events",
        "duplicate_events",
        "unexpected_events",
        "wrong_kind_events",
        "out_of_order_events",
        "clients_without_marker",
        "clients_never_welcomed",
        "events_replaced_by_snapshot",
    ):
        result[name] = figures[name]
    return result, notes


def _describe(
    record: dict[str, Any],
    by_seq: dict[int, Event],
    missing: list[int],
    unexpected: list[int],
    wrong_kind: list[int],
    duplicates: list[int],
    faults: list[dict[str, Any]],
) -> str:
    def show(seqs: list[int]) -> str:
        return ", ".join(
            f"{s} {by_seq[s].kind} at {_clock(by_seq[s].at)}" if s in by_seq else str(s)
            for s in seqs[:6]
        ) + (" ..." if len(seqs) > 6 else "")

    parts = [f"client {record['key']} ({record['role']}):"]
    if missing:
        parts.append(f"missing {len(missing)} [{show(missing)}]")
    if unexpected:
        parts.append(f"not addressed to it {len(unexpected)} [{show(unexpected)}]")
    if wrong_kind:
        parts.append(f"wrong kind {len(wrong_kind)} [{show(wrong_kind)}]")
    if duplicates:
        parts.append(f"duplicates {len(duplicates)} [{show(duplicates)}]")
    drops = ", ".join(f"{how}@{_clock(at)}+{pause:.1f}s" for at, how, pause in record["drops"])
    parts.append(f"its drops: {drops or 'none'}; lost: {record['lost'] or 'none'}")
    near = [f"{f['kind']}@{_clock(f['at'])}" for f in faults if f["kind"] != "client_drop"]
    parts.append(f"server/redis faults: {', '.join(near) or 'none'}")
    return " ".join(parts)


def _clock(at: datetime | float) -> str:
    moment = at if isinstance(at, datetime) else datetime.fromtimestamp(at).astimezone()
    return moment.astimezone().strftime("%H:%M:%S.%f")[:-3]


def poll(
    records: list[dict[str, Any]], log: list[Event], number: int | None
) -> tuple[dict[str, Any], list[str]]:
    """Every point's ballot counted once: the result's counts are the options the points chose,
    each point has exactly one ``poll.voted`` in the log, nobody eligible is left out."""
    notes: list[str] = []
    closed = next(
        (e.data for e in log if e.kind == "poll.closed" and e.data["number"] == number), None
    )
    opened = next(
        (e.data for e in log if e.kind == "poll.opened" and e.data["number"] == number), None
    )
    if number is None or closed is None or opened is None:
        return {"poll_ok": False}, ["the poll was not opened and closed"]
    ballots = [(r["key"], r["ballots"].get(number)) for r in records if r["role"] == "point"]
    acked = {key: b["option"] for key, b in ballots if b and b["reply"]["type"] == "ack"}
    refused = {
        key: b["reply"].get("code") for key, b in ballots if b and b["reply"]["type"] != "ack"
    }
    chosen = Counter(acked.values())
    voted = Counter(
        e.data["key"] for e in log if e.kind == "poll.voted" and e.data["number"] == number
    )
    result = closed["result"]
    counts = result["counts"]
    expected_counts = [chosen.get(i, 0) for i in range(len(counts))]
    points = {r["key"] for r in records if r["role"] == "point"}
    not_once = sorted(k for k in points if voted.get(k, 0) != 1)
    figures = {
        "poll_eligible": len(opened["eligible"]),
        "ballots_cast": len(acked),
        "ballots_refused": len(refused),
        "ballots_resent": sum(1 for _, b in ballots if b and b["resent"]),
        "ballots_counted": result["cast"],
        "ballot_counts": counts,
        "ballot_counts_expected": expected_counts,
        "ballot_not_voted": len(closed["not_voted"]),
        "ballot_points_not_voted_once": len(not_once),
    }
    figures["poll_ok"] = (
        set(opened["eligible"]) == points
        and len(acked) == len(points)
        and result["cast"] == len(points)
        and counts == expected_counts
        and not closed["not_voted"]
        and not not_once
    )
    if refused:
        notes.append(f"ballots refused: {dict(Counter(refused.values()))}")
    if not_once:
        notes.append(f"points without exactly one poll.voted: {not_once[:10]}")
    if counts != expected_counts:
        notes.append(f"poll counts {counts}, the points chose {expected_counts}")
    missing_eligible = sorted(points - set(opened["eligible"]))
    if missing_eligible:
        notes.append(f"points not eligible when the poll opened: {missing_eligible[:10]}")
    return figures, notes


def roll_call(records: list[dict[str, Any]], log: list[Event]) -> dict[str, Any]:
    closed = [e.data for e in log if e.kind == "roll_call.closed"]
    points = {r["key"] for r in records if r["role"] == "point"}
    answered = set(closed[-1]["answers"]) if closed else set()
    return {
        "roll_call_points_answered": len(answered & points),
        "roll_call_answer_events": sum(1 for e in log if e.kind == "roll_call.answered"),
        "roll_call_ok": bool(closed) and answered >= points,
    }


def faults_summary(faults: list[dict[str, Any]], t0: float) -> dict[str, Any]:
    counts = Counter(f["how"] if f["kind"] == "client_drop" else f["kind"] for f in faults)
    windows: Counter[int] = Counter(
        int((f["at"] - t0) // 10) * 10 for f in faults if f["kind"] == "client_drop"
    )
    return {
        "faults": {
            "client_close": counts["close"],
            "client_abort": counts["abort"],
            "server_kill": counts["server_kill"],
            "redis_restart": counts["redis_restart"],
        },
        "client_drops_by_10s": {f"{k}s": v for k, v in sorted(windows.items())},
    }


def _pid(conn: str) -> int | None:
    """The server pid in a connection id (``host-pid-hex.n``, rooms/bus.py)."""
    try:
        return int(conn.rsplit(".", 1)[0].split("-")[-2])
    except (IndexError, ValueError):
        return None


def presence(
    log: list[Event],
    marker_seq: int,
    keys: list[str],
    processes: dict[int, str],
    killed: set[int],
    faults: list[dict[str, Any]],
) -> tuple[dict[str, Any], list[str]]:
    """The room's view of who is connected, from the log, against the truth: a connection is
    dropped as ``lost`` only if its process was killed, and every client (all connected when
    the chair says the marker) is in the room then."""
    conns: dict[str, set[str]] = {}
    lost_live: list[Event] = []
    lost = 0
    for event in log:
        if event.seq > marker_seq:
            break
        if event.kind == "member.joined":
            conns.setdefault(event.data["key"], set()).add(event.data["conn"])
        elif event.kind == "member.left":
            conns.setdefault(event.data["key"], set()).discard(event.data["conn"])
            if event.data.get("reason") == "lost":
                lost += 1
                if _pid(event.data["conn"]) not in killed:
                    lost_live.append(event)
    absent = sorted(k for k in keys if not conns.get(k))
    notes: list[str] = []
    groups: dict[tuple[str, str], list[Event]] = {}
    for event in lost_live:
        process = processes.get(_pid(event.data["conn"]) or 0, "an unknown process")
        groups.setdefault((process, event.at.strftime("%H:%M:%S")), []).append(event)
    for (process, _), events in groups.items():
        first, last = events[0], events[-1]
        near = min(
            (f for f in faults if f["kind"] != "client_drop"),
            key=lambda f: abs(f["at"] - first.at.timestamp()),
            default=None,
        )
        notes.append(
            f"{len(events)} connections of {process} (running, its sockets open) recorded as "
            f"member.left reason=lost at {_clock(first.at)}, seq {first.seq}-{last.seq} "
            f"(members {', '.join(sorted({e.data['key'] for e in events})[:8])}...)"
            + (f"; nearest fault: {near['kind']} at {_clock(near['at'])}" if near else "")
        )
    if absent:
        notes.append(
            f"{len(absent)} connected clients not in the room at the marker (by the log): "
            f"{absent[:10]}"
        )
    return {
        "member_left_lost": lost,
        "member_left_lost_of_live_processes": len(lost_live),
        "clients_absent_at_marker": len(absent),
    }, notes


def connections(records: list[dict[str, Any]]) -> dict[str, Any]:
    """How the clients came and went."""
    lost: Counter[str] = Counter()
    errors: Counter[str] = Counter()
    for record in records:
        lost.update(record["lost"])
        if record["role"] == "point":
            errors.update(record["errors"])
    return {
        "reconnects": sum(r["connections"] - 1 for r in records),
        "resumes": sum(r["resumes"] for r in records),
        "fresh_welcomes": sum(len(r["fresh_welcomes"]) for r in records),
        "failed_connects": sum(r["failed_connects"] for r in records),
        "closed_by_server": dict(lost),
        "commands_resent": sum(r["commands_resent"] for r in records),
        "unavailable_answers": sum(r["unavailable"] for r in records),
        "point_errors": dict(errors),
    }


async def read_log(database_url: str, meeting_id: int) -> list[Event]:
    from rooms.store import EventStore
    from server.db import Database

    database = Database(database_url)
    try:
        return await EventStore(database).since(meeting_id, 0)
    finally:
        await database.dispose()


async def attendance(
    database_url: str, meeting_id: int, server_url: str, token: str, points: int
) -> dict[str, Any]:
    """Every point attended: in the invitations (written by the servers in batches) and in
    the attendance report (from the event log)."""
    import httpx
    from sqlalchemy import func, select

    from server.db import Database
    from server.meetings.models import Invitation, InvitationState

    database = Database(database_url)
    try:
        async with database.reader() as db:
            attended = await db.scalar(
                select(func.count())
                .select_from(Invitation)
                .where(
                    Invitation.meeting_id == meeting_id,
                    Invitation.point_id.is_not(None),
                    Invitation.state == InvitationState.ATTENDED,
                )
            )
    finally:
        await database.dispose()
    async with httpx.AsyncClient(base_url=server_url, timeout=60) as http:
        report = await http.get(
            f"/api/meetings/{meeting_id}/attendance",
            headers={"Authorization": f"Bearer {token}"},
        )
        report.raise_for_status()
    absent = report.json()["absent_points"]
    return {
        "attendance_invitations_attended": attended,
        "attendance_report_absent": len(absent),
        "attendance_ok": attended == points and not absent,
    }
