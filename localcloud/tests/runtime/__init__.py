"""Tests of the local Lambda runtime, event source pollers and API Gateway."""
