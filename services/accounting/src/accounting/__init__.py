"""accounting: a ledger entry and the customer's running totals, booked once per ride."""
