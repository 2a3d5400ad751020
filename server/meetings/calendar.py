"""Meetings as iCalendar (RFC 5545), for officials' own calendar apps.

Times are written in the province's zone (with its VTIMEZONE), so a phone shows 08:00 for a
meeting at 08:00 in Hà Nội whatever the phone's own zone. Each meeting keeps one UID; a
reschedule or cancellation raises SEQUENCE, so calendars replace the event they have.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event

from server.meetings.lifecycle import MeetingStatus
from server.meetings.models import AgendaItem, Classification, Meeting

PRODID = "-//hoinghi//hoinghi//VI"

_STATUS = {
    MeetingStatus.DRAFT: "TENTATIVE",
    MeetingStatus.SCHEDULED: "CONFIRMED",
    MeetingStatus.LIVE: "CONFIRMED",
    MeetingStatus.ENDED: "CONFIRMED",
    MeetingStatus.CLOSED: "CONFIRMED",
    MeetingStatus.CANCELLED: "CANCELLED",
}


def meeting_uid(meeting: Meeting, domain: str) -> str:
    return f"meeting-{meeting.id}@{domain}"


def _description(meeting: Meeting, agenda: Sequence[AgendaItem]) -> str:
    lines = [meeting.description.strip()] if meeting.description.strip() else []
    lines.append(f"Chủ trì: {meeting.chair.full_name}")
    if agenda:
        lines.append("Chương trình:")
        for item in agenda:
            presenter = f" — {item.presenter_name}" if item.presenter_name else ""
            lines.append(f"{item.position}. {item.title}{presenter} ({item.planned_minutes}')")
    return "\n".join(lines)


def render(
    meetings: Sequence[Meeting],
    agendas: dict[int, list[AgendaItem]],
    *,
    name: str,
    zone: str,
    domain: str,
    now: datetime,
    discreet: bool = False,
) -> bytes:
    """The calendar. ``discreet`` (feeds, which third-party calendar services fetch): a
    confidential meeting shows only that there is a meeting, and when."""
    tz = ZoneInfo(zone)
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-wr-timezone", zone)
    for meeting in meetings:
        event = Event()
        event.add("uid", meeting_uid(meeting, domain))
        event.add("dtstamp", now)
        event.add("dtstart", meeting.starts_at.astimezone(tz))
        event.add("dtend", meeting.ends_at.astimezone(tz))
        hidden = discreet and meeting.classification is Classification.CONFIDENTIAL
        if hidden:
            event.add("summary", "Cuộc họp (mật)")
        else:
            event.add("summary", meeting.title)
            event.add("description", _description(meeting, agendas.get(meeting.id, [])))
            event.add("location", meeting.host_unit.name)
        event.add("status", _STATUS[meeting.status])
        event.add("sequence", meeting.sequence)
        event.add("last-modified", meeting.updated_at)
        event.add("created", meeting.created_at)
        if meeting.classification is Classification.CONFIDENTIAL:
            event.add("class", "CONFIDENTIAL")
        calendar.add_component(event)
    calendar.add_missing_timezones()
    return calendar.to_ical()
