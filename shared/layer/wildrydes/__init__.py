"""The Wild Rydes ride contract shared by every service (deployed as a Lambda layer)."""
