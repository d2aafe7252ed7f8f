"""Cases: one per call. ``models`` (tables and public shapes), ``service`` (database), ``views`` (JSON)."""
