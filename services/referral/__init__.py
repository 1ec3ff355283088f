"""Intake: partners post referrals; each is stored and announced as ReferralReceived."""

SERVICE = "referral"
SOURCE = "/familyties/referral"
GROUP = "referral"  # its consumer group, reading casework's events
