"""Casework: coordinators work each family's case."""

SERVICE = "casework"
SOURCE = "/familyties/casework"
GROUP = "casework"  # its consumer group, reading referrals and directory services
