"""Documents and paper: uploads, blob store, page rendering, agenda packs, minutes, signing."""
