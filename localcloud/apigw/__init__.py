"""The API Gateway data plane: every deployed REST API stage served on loopback, with API
keys, usage-plan throttling, gateway responses and v1 proxy events."""
