"""The agency directory: Open Referral services to signpost families to."""

SERVICE = "directory"
