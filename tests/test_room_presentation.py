"""Showing a document in the room: the version and its page count travel with it, pages
past the end are refused, and a snapshot (a late joiner) carries the current page."""

from __future__ import annotations

import pytest

from rooms import messages as m
from rooms.machine import Rejected, ShowDocument, apply
from rooms.state import snapshot
from tests.test_room_machine import CHAIR, P1, T0, room


def test_a_shown_document_keeps_its_version_and_pages_and_bounds_the_pages() -> None:
    state = room()
    shown = ShowDocument(document_id=5, version=2, pages=3, title="Tờ trình", page=1)
    events = apply(state, shown, CHAIR, T0)
    assert events[-1].data == {
        "document_id": 5, "version": 2, "pages": 3, "title": "Tờ trình", "page": 1, "by": "u:1",
    }  # fmt: skip
    apply(state, m.TurnPage(type="turn_page", id="t", page=3), CHAIR, T0)
    with pytest.raises(Rejected) as beyond:
        apply(state, m.TurnPage(type="turn_page", id="t", page=4), CHAIR, T0)
    assert beyond.value.code == "page_out_of_range"
    with pytest.raises(Rejected) as not_allowed:
        apply(state, ShowDocument(5, 2, 3, "Tờ trình", 1), P1, T0)
    assert not_allowed.value.code == "not_allowed"
    with pytest.raises(Rejected):
        apply(state, ShowDocument(5, 2, 3, "Tờ trình", 9), CHAIR, T0)

    seen = snapshot(state)["presentation"]
    assert seen == {
        "document_id": 5, "page": 3, "by": "u:1", "version": 2, "pages": 3, "title": "Tờ trình",
    }  # fmt: skip


def test_a_presentation_without_a_page_count_still_turns_pages() -> None:
    """Events logged before versions were recorded (and the bare ``present`` command the
    machine still accepts) carry no page count: pages are then not bounded here."""
    state = room()
    events = apply(state, m.Present(type="present", id="p", document_id=8, page=2), CHAIR, T0)
    assert "pages" not in events[-1].data
    apply(state, m.TurnPage(type="turn_page", id="t", page=40), CHAIR, T0)
    seen = snapshot(state)["presentation"]
    assert (seen["document_id"], seen["page"], seen["pages"]) == (8, 40, None)


def test_every_internal_room_command_crosses_processes() -> None:
    """Commands built by the socket travel to the room's owner through Redis as JSON: each
    internal command must have a name in the codec (a missing one failed with 1011)."""
    import typing

    from rooms import codec
    from rooms.machine import RoomCommand

    internal = [
        cls
        for cls in typing.get_args(RoomCommand)
        if isinstance(cls, type) and not hasattr(cls, "model_dump")
    ]
    assert ShowDocument in internal
    for cls in internal:
        assert cls in codec._NAMES, cls
    shown = ShowDocument(5, 2, 3, "Tờ trình", 1)
    assert codec.decode_command(codec.encode_command(shown)) == shown
