"""Minutes and signed approvals over HTTP: the edge between the web and agenda/ (workflow,
PDF rendering, signing, verification)."""
