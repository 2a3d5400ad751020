"""Meetings: scheduling, invitations, agenda items, lifecycle, calendar feeds."""
