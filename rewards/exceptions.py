class RewardError(Exception):
    """A reward operation that the rules or the ledger's state do not allow."""
