"""People, roles, sign-in and access control."""
