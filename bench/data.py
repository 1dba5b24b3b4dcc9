"""Deterministic synthetic campaign data for the harness (same seed and sizes, same files).

Traders: registrations (mostly approved futures, some spot/pending/rejected), sign-ups (mostly in
the window), trading-stats snapshots. Posts: JSON Lines, 200 to 2,000 characters, about three
quarters English and one quarter Chinese, built from a pool of trading sentences plus per-post
numbers (so two originals share few 5-grams), authors skewed (a few prolific traders), 5%
near-copies of an earlier-generated post (a few words changed, a fifth of them dated *before*
their source so that "earliest wins" is exercised), some deleted, some outside the window, some
without a trading term, engagement from heavy-tailed distributions.

Files are written once per (seed, traders, posts, new) under the data directory and reused: the
harness streams them line by line, never holding every post in memory.
"""

import csv
import json
import os
import random
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

# RULES.md section 1, in UTC.
WINDOW_START = datetime(2026, 2, 12, 10, 0, tzinfo=timezone.utc)
WINDOW_END = datetime(2026, 2, 24, 16, 0, tzinfo=timezone.utc)
UID_BASE = 70_000_000
FORMAT_VERSION = 2

EN_WORDS = (
    "the market price trend volume buyers sellers range daily chart candle close open week "
    "momentum trader position risk target level zone bounce reclaim retest flip print wick "
    "funding sentiment whales spot flows order book bid ask liquidity sweep hedge exposure "
    "rally dump pump chop consolidation structure higher lower low high swing scalp plan "
    "watching waiting entered closed trimmed added size account copy followers signal setup "
    "today tonight tomorrow session asia london newyork macro cpi fed rates dollar index"
).split()
EN_TRADING = (
    "long short futures perpetual perp leverage liquidation support resistance breakout entry "
    "bullish bearish squeeze derivatives"
).split() + ["funding rate", "open interest", "stop loss", "take profit"]
TICKERS = ("BTC", "ETH", "SOL", "XRP", "DOGE", "BNB", "GT", "ADA", "AVAX", "LINK", "TON", "PEPE", "SUI", "ARB", "OP")
ZH_CHARS = (
    "今天市场行情价格走势成交量买卖盘区间日线图表收盘开盘周期动能交易员仓位风险目标位置反弹回踩"
    "突破震荡结构高低点波段计划观察等待入场离场减仓加仓账户跟随信号机会情绪资金费率流动性宏观数据"
    "美元指数利率大家注意控制节奏不要追涨杀跌耐心等待确认后再动手短线中线长线趋势压力回调企稳放量缩量"
)
ZH_TRADING = ("做多", "做空", "合约", "杠杆", "爆仓", "清算", "止损", "止盈", "支撑", "阻力", "突破", "多单", "空单", "带单", "跟单", "持仓")
NON_TRADING_EN = "coffee weekend family travel music movie book garden weather dinner friends photo city park".split()


@dataclass(frozen=True)
class DataSet:
    directory: Path
    registrations: Path
    signups: Path
    trader_stats: Path
    posts: Path
    new_posts: Path
    traders: int
    posts_count: int
    new_count: int


def _sentence_pool(rng: random.Random, size: int, chinese: bool) -> list[str]:
    pool = []
    for _ in range(size):
        if chinese:
            body = "".join(rng.choices(ZH_CHARS, k=rng.randint(12, 30)))
            cut = rng.randint(0, len(body))
            sentence = body[:cut] + rng.choice(ZH_TRADING) + body[cut:] + rng.choice("，。！")
        else:
            words = rng.choices(EN_WORDS, k=rng.randint(8, 18))
            words.insert(rng.randint(0, len(words)), rng.choice(EN_TRADING))
            sentence = " ".join(words).capitalize() + rng.choice(".!.?")
        pool.append(sentence)
    return pool


class PostFactory:
    """Builds post texts; keeps a bounded ring of recent originals to copy from."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.en = _sentence_pool(rng, 20_000, chinese=False)
        self.zh = _sentence_pool(rng, 10_000, chinese=True)
        self.plain = [" ".join(rng.choices(NON_TRADING_EN + EN_WORDS[:8], k=14)).capitalize() + "." for _ in range(500)]
        self.recent: list[tuple[str, datetime]] = []
        self.ring = 5000

    def original(self, *, chinese: bool, trading: bool) -> str:
        rng = self.rng
        target = int(200 + (2000 - 200) * (rng.random() ** 1.6))  # more short posts than long
        parts, length = [], 0
        while length < target:
            if not trading:
                s = rng.choice(self.plain)
            elif chinese:
                s = rng.choice(self.zh) + f"{rng.choice(TICKERS)}在{rng.randint(1, 99999)}附近"
            else:
                s = f"{rng.choice(self.en)} ${rng.choice(TICKERS)} {rng.randint(1, 99999)}.{rng.randint(0, 99)}"
            parts.append(s)
            length += len(s) + 1
        text = ("" if chinese else " ").join(parts)[:2000]
        if rng.random() < 0.05:
            text += f" https://www.gate.com/post/{rng.randint(10**8, 10**9)}"
        return text[:2000] if len(text) > 2000 else text

    def near_copy(self, source: str) -> str:
        """Small edits: Jaccard of 5-gram sets mostly stays well above 0.8."""
        rng = self.rng
        text = source
        for _ in range(rng.randint(1, 3)):
            at = rng.randint(0, max(0, len(text) - 10))
            text = text[:at] + rng.choice(("!", " 👍", "，", " gm", "……")) + text[at + rng.randint(0, 3):]
        return text[:2000]

    def remember(self, text: str, created: datetime):
        if len(self.recent) < self.ring:
            self.recent.append((text, created))
        else:
            self.recent[self.rng.randrange(self.ring)] = (text, created)


def _iso(instant: datetime) -> str:
    return instant.isoformat().replace("+00:00", "Z")


def _author(rng: random.Random, traders: int) -> int:
    # Skewed: 30% of the posts come from the 1% most prolific traders, the rest from anyone.
    if rng.random() < 0.3:
        return UID_BASE + rng.randrange(max(1, traders // 100))
    return UID_BASE + rng.randrange(traders)


def _post(rng, factory, post_id: str, traders: int, span: float) -> dict:
    roll = rng.random()
    if roll < 0.03:
        created = WINDOW_START - timedelta(seconds=rng.uniform(60, 5 * 86400))
    elif roll < 0.05:
        created = WINDOW_END + timedelta(seconds=rng.uniform(0, 3 * 86400))
    else:
        created = WINDOW_START + timedelta(seconds=rng.uniform(0, span))
    if factory.recent and rng.random() < 0.05:
        source, source_created = factory.recent[rng.randrange(len(factory.recent))]
        text = factory.near_copy(source)
        if rng.random() < 0.2:  # a copy dated before its source: the source becomes the duplicate
            created = source_created - timedelta(seconds=rng.uniform(1, 3600))
    else:
        text = factory.original(chinese=rng.random() < 0.25, trading=rng.random() >= 0.03)
        factory.remember(text, created)
    views = int(rng.lognormvariate(6, 1.3))
    return {
        "post_id": post_id,
        "author_uid": _author(rng, traders),
        "created_at": _iso(created.replace(microsecond=0)),
        "text": text,
        "likes": int(rng.expovariate(1 / 8)),
        "comments": int(rng.expovariate(1 / 2)),
        "shares": int(rng.expovariate(1 / 0.7)),
        "views": views,
        "deleted": rng.random() < 0.01,
    }


def build(directory: Path, *, traders: int, posts: int, new: int, seed: int, log=print) -> DataSet:
    """Write (or reuse) the data files for these sizes under `directory`."""
    directory = Path(directory) / f"v{FORMAT_VERSION}-s{seed}-t{traders}-p{posts}-n{new}"
    ds = DataSet(
        directory=directory,
        registrations=directory / "registrations.csv",
        signups=directory / "signups.csv",
        trader_stats=directory / "trader_stats.csv",
        posts=directory / "posts.jsonl",
        new_posts=directory / "new_posts.jsonl",
        traders=traders,
        posts_count=posts,
        new_count=new,
    )
    done = directory / "COMPLETE"
    if done.exists():
        log(f"data: reusing {directory}")
        return ds
    directory.mkdir(parents=True, exist_ok=True)
    rng = random.Random(seed)
    with open(ds.registrations, "w", newline="", encoding="utf-8") as reg, open(ds.signups, "w", newline="", encoding="utf-8") as sig, open(
        ds.trader_stats, "w", newline="", encoding="utf-8"
    ) as st:
        rw, sw, tw = csv.writer(reg), csv.writer(sig), csv.writer(st)
        rw.writerow(("uid", "nickname", "market", "status", "applied_at", "approved_at"))
        sw.writerow(("uid", "submitted_at", "square_handle", "contact"))
        tw.writerow(("uid", "as_of", "new_copiers", "copier_pnl_usdt"))
        for i in range(traders):
            uid = UID_BASE + i
            applied = WINDOW_START - timedelta(days=rng.uniform(1, 60))
            roll = rng.random()
            market, status = ("spot", "approved") if roll < 0.04 else ("futures", "pending" if roll < 0.07 else "rejected" if roll < 0.10 else "approved")
            approved = _iso(applied + timedelta(hours=6)) if status == "approved" else ""
            rw.writerow((uid, f"trader{i}" if i % 5 else f"交易员{i}", market, status, _iso(applied), approved))
            if rng.random() < 0.95:
                inside = rng.random() < 0.96
                submitted = WINDOW_START + timedelta(seconds=rng.uniform(0, 10 * 86400)) if inside else WINDOW_START - timedelta(days=2)
                sw.writerow((uid, _iso(submitted), f"@sq{i}", f"t{i}@example.com"))
            for _ in range(rng.randint(0, 2)):
                as_of = WINDOW_END - timedelta(days=rng.uniform(-2, 10))
                tw.writerow((uid, _iso(as_of.replace(microsecond=0)), int(rng.expovariate(1 / 20)), f"{rng.gauss(500, 3000):.2f}"))
    factory = PostFactory(rng)
    span = (WINDOW_END - WINDOW_START).total_seconds()
    report_every = max(1, posts // 10)
    for path, count, prefix in ((ds.posts, posts, "p"), (ds.new_posts, new, "n")):
        with open(path, "w", encoding="utf-8") as out:
            for i in range(count):
                out.write(json.dumps(_post(rng, factory, f"{prefix}{i:08d}", traders, span), ensure_ascii=False))
                out.write("\n")
                if path == ds.posts and (i + 1) % report_every == 0:
                    log(f"data: {i + 1:,} / {count:,} posts written")
    done.write_text("ok\n")
    log(f"data: written to {directory} ({sum(os.path.getsize(p) for p in (ds.posts, ds.new_posts)) / 2**20:,.0f} MiB of posts)")
    return ds
