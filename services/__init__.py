"""The five Family Ties services, each a package with a web app and a worker."""

NAMES = ["referral", "casework", "directory", "notifications", "reporting"]
