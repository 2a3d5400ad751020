"""Agenda documents over HTTP: the edge between the web and agenda/ (storage, paper work)."""
