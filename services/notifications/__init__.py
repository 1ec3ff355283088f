"""Notifications: tells referrers, partners and staff what happened, by email and by
signed webhooks, once each, by the channel they chose."""

SERVICE = "notifications"
GROUP = "notifications"
