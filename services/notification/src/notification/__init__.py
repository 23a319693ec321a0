"""notification: every completed ride's receipt, recorded once per ride."""
