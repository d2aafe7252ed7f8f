"""The web application for call-takers, supervisors and admins (``siaga web``). Imports ``app`` only."""
