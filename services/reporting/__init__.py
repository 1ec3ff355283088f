"""Reporting: aggregate figures for funders and managers, built from events alone and
never holding personal data."""

SERVICE = "reporting"
GROUP = "reporting"  # its consumer group, reading every other service's events
