"""Events: the CloudEvents envelope, the catalogue of event types and their data shapes."""
