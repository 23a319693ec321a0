"""Event-source mappings: SQS queues and DynamoDB streams polled with Lambda's semantics
(batching, windows, filters, partial failures, concurrency caps), one poller per mapping."""
