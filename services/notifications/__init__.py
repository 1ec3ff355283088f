"""Notifications: keeps referrers and staff informed."""

SERVICE = "notifications"
