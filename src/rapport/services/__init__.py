"""Use cases: each loads facts, asks the domain, writes in one transaction, publishes after commit."""
