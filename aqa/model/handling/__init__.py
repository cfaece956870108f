"""Domain handlings: one file each, registered in `registry.HANDLINGS` (see base.py for the hooks)."""
