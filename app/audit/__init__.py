"""The audit log: who changed what, when (supervisor and admin actions, not calls)."""
