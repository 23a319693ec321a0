"""EventBridge's data plane, which moto leaves out: rules' matched events delivered to their
targets (Lambda, SQS, SNS, Kinesis, CloudWatch Logs, event buses) with the target's input
(`Input`, `InputPath`, `InputTransformer`), retry policy and dead-letter queue, and schedule
rules (`rate(...)`, `cron(...)`) fired on time while localcloud runs.

- `event_shape`: moto's event message as EventBridge delivers it.
- `target_input`: what a target receives (the event, a constant, a path, a template).
- `schedule_expressions`: `rate()` / `cron()` parsed, and the next time they fire.
- `delivery`: the background delivery to targets, with retries and the dead-letter queue.
- `scheduler`: fires schedule rules.
- `routing`: the delivery a running Runtime registers; `localcloud.patches` forwards to it.
"""
