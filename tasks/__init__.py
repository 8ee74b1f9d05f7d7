"""The work: projects, items, workers, invites and which item comes next."""
