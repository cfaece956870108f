"""Training objectives: one file each, registered in `registry.OBJECTIVES` (see base.py)."""
