"""Test helpers every service's tests share: template checks, the consumer contract (what every
consumer must do, run per service), moto routing built from the templates, SQS/SNS event
shapes and JSON event fixtures. Test-only code: nothing here is deployed."""
