"""The ops actions need the `ops` scope AND the acting user's Django permission (the same one the
admin action and the service check), so a token never does more than its user could by hand."""

from traders.api.permissions import CanOperate


class CanApproveRewards(CanOperate):
    perms = ("rewards.approve_reward",)


class CanPayRewards(CanOperate):
    perms = ("rewards.pay_reward",)


class CanSettle(CanOperate):
    # A settlement writes a SettlementRun; there is no separate "settle" permission.
    perms = ("rewards.add_settlementrun",)
