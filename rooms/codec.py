"""Commands, outcomes and events as JSON, for carrying them between processes."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from rooms import messages
from rooms.machine import (
    Actor,
    Close,
    ExpireFloor,
    ExpirePoll,
    Join,
    Leave,
    Open,
    RoomCommand,
    ShowAgendaItem,
    ShowDocument,
)
from rooms.room import Outcome
from rooms.state import Event, Role

_INTERNAL: dict[str, type] = {
    "open": Open,
    "close": Close,
    "join": Join,
    "leave": Leave,
    "expire_floor": ExpireFloor,
    "show_agenda_item": ShowAgendaItem,
    "show_document": ShowDocument,
    "expire_poll": ExpirePoll,
}
_NAMES = {cls: name for name, cls in _INTERNAL.items()}


def encode_command(command: RoomCommand) -> dict[str, Any]:
    if hasattr(command, "model_dump"):
        return {"wire": command.model_dump()}
    fields = asdict(command)
    if "role" in fields:
        fields["role"] = fields["role"].value
    return {"internal": _NAMES[type(command)], "fields": fields}


def decode_command(data: dict[str, Any]) -> RoomCommand:
    if "wire" in data:
        return messages.parse_command(data["wire"])
    cls = _INTERNAL[data["internal"]]
    fields = dict(data["fields"])
    if "role" in fields:
        fields["role"] = Role(fields["role"])
    return cls(**fields)


def encode_actor(actor: Actor) -> dict[str, str]:
    return {"key": actor.key, "role": actor.role.value}


def decode_actor(data: dict[str, str]) -> Actor:
    return Actor(data["key"], Role(data["role"]))


def encode_event(event: Event) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "kind": event.kind,
        "at": event.at.isoformat(),
        "actor": event.actor,
        "data": event.data,
        "request_id": event.request_id,
    }


def decode_event(data: dict[str, Any]) -> Event:
    return Event(
        data["seq"],
        data["kind"],
        datetime.fromisoformat(data["at"]),
        data["actor"],
        data["data"],
        data.get("request_id"),
    )


def encode_outcome(outcome: Outcome) -> dict[str, Any]:
    return {
        "events": [encode_event(e) for e in outcome.events],
        "seq": outcome.seq,
        "snapshot": outcome.snapshot,
        "ballot": outcome.ballot,
    }


def decode_outcome(data: dict[str, Any]) -> Outcome:
    return Outcome(
        [decode_event(e) for e in data["events"]],
        data["seq"],
        data["snapshot"],
        data.get("ballot"),
    )
