"""The agency directory: Open Referral (HSDS 3.0) services to signpost families to."""

SERVICE = "directory"
SOURCE = "/familyties/directory"
