"""HTTP API of a meeting's invitations and the invitees' answers."""

from __future__ import annotations

from fastapi import APIRouter, Response

from server.auth import CurrentPrincipal
from server.deps import AppHub, ReadDB, WriteDB
from server.meetings import invitations, service
from server.meetings.schemas import (
    Answer,
    InvitationList,
    InvitationOut,
    InviteRequest,
    InviteResult,
)
from server.validation import IdPath

router = APIRouter(prefix="/api/meetings/{meeting_id}/invitations", tags=["invitations"])


@router.get("", response_model=InvitationList, summary="Who is invited, and their answers")
async def list_invitations(
    meeting_id: IdPath, principal: CurrentPrincipal, db: ReadDB
) -> InvitationList:
    meeting = await service.get_meeting(db, meeting_id, principal)
    rows = await invitations.list_invitations(db, meeting)
    return InvitationList(
        items=[invitations.invitation_out(i) for i in rows],
        counts=await invitations.state_counts(db, meeting),
    )


@router.post(
    "",
    response_model=InviteResult,
    summary="Invite points (one by one or every point under a unit) and people by username",
)
async def invite(
    meeting_id: IdPath, body: InviteRequest, principal: CurrentPrincipal, db: WriteDB, hub: AppHub
) -> InviteResult:
    meeting = await service.get_meeting(db, meeting_id, principal, for_update=True)
    added, already, warnings = await invitations.invite(db, principal, meeting, body)
    await db.commit()
    # New invitees may enter at once, without waiting for the admission cache to expire.
    await hub.invitations_changed(meeting_id)
    return InviteResult(
        added=[invitations.invitation_out(i) for i in added],
        already_invited=already,
        warnings=warnings,
    )


@router.put("/me", response_model=InvitationOut, summary="Answer my own invitation")
async def answer(
    meeting_id: IdPath, body: Answer, principal: CurrentPrincipal, db: WriteDB
) -> InvitationOut:
    meeting = await service.get_meeting(db, meeting_id, principal, for_update=True)
    invitation = await invitations.answer(db, principal, meeting, body.state, body.note)
    await db.commit()
    return invitations.invitation_out(invitation)


@router.delete("/{invitation_id}", status_code=204, summary="Withdraw an invitation")
async def remove(
    meeting_id: IdPath,
    invitation_id: IdPath,
    principal: CurrentPrincipal,
    db: WriteDB,
    hub: AppHub,
) -> Response:
    meeting = await service.get_meeting(db, meeting_id, principal, for_update=True)
    removed = await invitations.remove_invitation(db, principal, meeting, invitation_id)
    await db.commit()
    await hub.disconnect(key=removed, meeting_id=meeting_id, reason="the invitation was withdrawn")
    return Response(status_code=204)
