"""The backbone every Family Ties service stands on: settings, MongoDB, events, outbox,
consumers, errors, logs, metrics and health checks."""
