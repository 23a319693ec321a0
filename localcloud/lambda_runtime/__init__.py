"""The Lambda runtime: each function in warm worker processes (worker_child.py, run by
worker_process.py), invoked with its code, layers, environment, context, timeout and logs."""
