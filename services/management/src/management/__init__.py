"""Wild Rydes management service: the ride API, the Rides store and the outbox publisher."""
