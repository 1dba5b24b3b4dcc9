"""A small campaign in the RULES.md file formats, settled by hand in the tests' comments."""

import json

REGISTRATIONS = """uid,nickname,market,status,applied_at,approved_at
1001,alpha,futures,approved,2026-02-01T10:00:00+08:00,2026-02-02T10:00:00+08:00
1002,=cmd|' /C calc'!A0,futures,approved,2026-02-01T10:00:00+08:00,
1003,gamma,futures,approved,2026-02-01T10:00:00Z,
1004,delta,spot,approved,2026-02-01T10:00:00Z,
"""
SIGNUPS = """uid,submitted_at,square_handle,contact
1001,2026-02-12T18:00:00+08:00,alpha,
1002,2026-02-13T10:00:00Z,beta,
1003,2026-02-14T10:00:00-05:00,gamma,
1004,2026-02-14T10:00:00Z,delta,
"""
STATS = """uid,as_of,new_copiers,copier_pnl_usdt
1001,2026-02-24T23:00:00+08:00,10,100.50
1002,2026-02-24T23:00:00+08:00,0,-50
1003,2026-02-25T00:00:01+08:00,1000,1000000
"""

BODY = [
    "BTC futures plan: long above the 64k support, stop loss 62.5k, take profit near the 68k resistance; funding is flat today.",
    "ETH perpetual: shorting into 3,400 resistance with low leverage; liquidation clusters sit above, so a squeeze is possible first.",
    "SOL derivatives: open interest is climbing while price stalls, a classic setup before a breakout; my entry waits for a daily close.",
    "合约复盘:BTC 在 6.2 万有强支撑,多单突破 6.5 万阻力后加仓,严格止损 6.1 万,分批止盈,杠杆控制在五倍以内,跟单的朋友注意仓位管理和风险控制,不要追高。本周重点关注美联储议息会议对市场情绪的影响和资金费率变化。",
    "BNB perp notes: bearish divergence on the 4h chart, I am short from 615 with a stop loss at 628; funding rate turned positive overnight again.",
]


def posts_jsonl():
    """uid 1001: 4 qualifying posts (scores 1+10=11, 1+2*5=11, 1+3*2+3=10, 1), uid 1002: 3 posts
    (scores 30, 5, 1), uid 1003: 1 post (score 6), uid 1004 is on spot: not enrolled."""
    rows = [
        ("a1", 1001, "2026-02-13T10:00:00+08:00", BODY[0], dict(likes=10)),
        ("a2", 1001, "2026-02-14T10:00:00+08:00", BODY[1], dict(comments=5)),
        ("a3", 1001, "2026-02-15T10:00:00+08:00", BODY[2], dict(shares=2, views=399)),
        ("a4", 1001, "2026-02-16T10:00:00+08:00", BODY[3], {}),
        ("b1", 1002, "2026-02-13T09:00:00+08:00", BODY[4], dict(likes=29)),
        ("b2", 1002, "2026-02-17T09:00:00+08:00", "XRP futures: range trading between 0.58 support and 0.64 resistance; I buy the lows with a tight stop loss and sell the highs.", dict(likes=4)),
        ("b3", 1002, "2026-02-18T09:00:00+08:00", "$BTC " + BODY[2][::-1], {}),
        ("c1", 1003, "2026-02-20T09:00:00+08:00", BODY[3][::-1] + " 止损", dict(likes=5)),
        ("d1", 1004, "2026-02-20T09:00:00+08:00", BODY[4][::-1] + " short", dict(likes=100)),
    ]
    lines = []
    for post_id, uid, created, text, engagement in rows:
        item = {"post_id": post_id, "author_uid": uid, "created_at": created, "text": text, "likes": 0, "comments": 0, "shares": 0, "views": 0, "deleted": False}
        item.update(engagement)
        lines.append(json.dumps(item, ensure_ascii=False))
    return "\n".join(lines) + "\n"


def scenario_load(campaign):
    """Import this scenario into `campaign` through the file services: registrations, sign-ups,
    trading stats, and the posts (judged, every one taken). Not settled."""
    from campaign.services import posts_import_file, signups_import
    from traders.services import registrations_import, trader_stats_import

    registrations_import(data=REGISTRATIONS.encode())
    signups_import(campaign=campaign, data=SIGNUPS.encode())
    trader_stats_import(data=STATS.encode())
    assert posts_import_file(campaign=campaign, data=posts_jsonl().encode()).ok
    return campaign
