"""Call-takers in the call service: their states (``board``), the queue of callers waiting for one
(``queue``), their phones' registrations (``phones``) and the commands the web app sends (``commands``)."""
