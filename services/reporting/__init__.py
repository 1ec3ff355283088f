"""Reporting: aggregate figures for funders, never personal data."""

SERVICE = "reporting"
