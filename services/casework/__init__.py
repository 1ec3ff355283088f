"""Casework: coordinators work each family's case."""

SERVICE = "casework"
