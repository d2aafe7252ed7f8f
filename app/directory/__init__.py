"""The agency directory: agencies, their units (phone lines) and routing."""
