"""Web app users: call-takers (agent), supervisors and admins, with argon2 password hashes."""
