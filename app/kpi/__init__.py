"""Response-time KPIs: ``figures`` (pure: the definitions), ``service`` (the database query), ``models``."""
