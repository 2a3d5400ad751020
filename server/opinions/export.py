"""A written-opinion request's answers for the office: a CSV table (opens in Excel) and a
printable PDF report."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

from agenda.opinion_report import AnswerRow, OpinionReport
from server.opinions import rules
from server.opinions.models import OpinionRecipient, OpinionRequest
from server.opinions.service import recipient_name, recipient_unit

CSV_HEADER = (
    "STT",
    "Loại",
    "Nơi được hỏi",
    "Đơn vị",
    "Ý kiến",
    "Góp ý",
    "Người trả lời",
    "Thời điểm trả lời",
    "Lần đầu xem",
)
# A cell starting with one of these is a formula to a spreadsheet.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def _local(moment: datetime | None, zone: ZoneInfo) -> str:
    return moment.astimezone(zone).strftime("%d/%m/%Y %H:%M") if moment else ""


def as_csv(request: OpinionRequest, recipients: list[OpinionRecipient], timezone: str) -> bytes:
    """UTF-8 with a byte-order mark, so that Excel reads Vietnamese correctly."""
    zone = ZoneInfo(timezone)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_HEADER)
    for number, r in enumerate(recipients, start=1):
        unit = recipient_unit(r)
        writer.writerow(
            [
                str(number),
                "Điểm cầu" if r.point_id is not None else "Cá nhân",
                _cell(recipient_name(r)),
                _cell(unit.name if unit is not None else ""),
                _cell(request.options[r.option] if r.option is not None else ""),
                _cell(r.comment),
                _cell(r.answered_by_name),
                _local(r.answered_at, zone),
                _local(r.first_seen_at, zone),
            ]
        )
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def as_report(
    request: OpinionRequest,
    recipients: list[OpinionRecipient],
    timezone: str,
    now: datetime,
) -> OpinionReport:
    zone = ZoneInfo(timezone)
    counted = rules.count(request.options, (r.option for r in recipients), len(recipients))
    phase = rules.phase(request.deadline, request.closed_at, now)
    status = "đang lấy ý kiến" if phase is rules.Phase.OPEN else "đã kết thúc"
    rows = []
    for r in recipients:
        unit = recipient_unit(r)
        rows.append(
            AnswerRow(
                name=recipient_name(r),
                unit=unit.name if unit is not None else "",
                option=request.options[r.option] if r.option is not None else "",
                comment=r.comment,
                answered_by=r.answered_by_name,
                answered_at=_local(r.answered_at, zone),
            )
        )
    pct = counted.as_dict()["pct_of_recipients"]
    assert isinstance(pct, list)
    return OpinionReport(
        title=request.title,
        question=request.question,
        sender=request.created_by.full_name,
        sent_at=_local(request.created_at, zone),
        deadline=_local(request.deadline, zone),
        status=status,
        options=list(request.options),
        counts=list(counted.counts),
        pct_of_recipients=pct,
        recipients=counted.recipients,
        answered=counted.answered,
        rows=rows,
        printed_at=_local(now, zone),
    )
