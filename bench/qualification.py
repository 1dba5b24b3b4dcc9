"""Benchmark: qualifying posts from scratch, near-duplicate detection included (no Django).

Usage, from the project root:

    .venv/bin/python bench/qualification.py [--posts 100000] [--seed 1] [--brute-force]

It generates a deterministic synthetic corpus (same seed, same corpus): English trading posts
with some Chinese ones, 200 to 2,000 characters, about 5% near-copies made by small edits of
earlier-generated posts, a fifth of them dated before their source so that earliest-wins is
exercised, plus a few non-trading and off-window posts. Then it times:

1. from scratch: `earlier_duplicates` (the memory adapter) over every post and the reference texts, then
   `judge` on every post; prints wall time, posts/s and reasons;
2. recall: planted pairs whose later member (by created_at, post_id) was flagged, over planted
   pairs (a copy counts as planted only if its exact Jaccard with its source is >= 0.8);
3. false positives: flagged posts whose reported match is not earlier or fails the exact
   Jaccard (must be 0), and flagged posts outside the planted pairs (verified, not errors);
4. incremental: band keys of the corpus loaded into a dict, then one extra post at a time found
   by its band keys and decided by `decision.relinks`, as the database's refresh does.

`--brute-force` also compares every verdict with an O(n^2) exact scan (use with --posts <= 3000).
The target is under 60 s for 100,000 posts on a 2-core machine.
"""

import argparse
import itertools
import random
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import numpy as np  # noqa: E402

from campaign.near_duplicates import (  # noqa: E402
    MemoryCorpus,
    band_keys,
    earlier_duplicates,
    plausible,
    post_order,
    reference_order,
    signature_matrix,
    text_signature,
)
from campaign.near_duplicates.decision import relinks  # noqa: E402
from campaign.qualification import Lexicon, PostFacts, jaccard_at_least, judge, shingles  # noqa: E402

THRESHOLD = Fraction(4, 5)
# The campaign window of RULES.md section 1, in UTC.
WINDOW_START = datetime(2026, 2, 12, 10, 0, tzinfo=timezone.utc)
WINDOW_END = datetime(2026, 2, 24, 16, 0, tzinfo=timezone.utc)

COMMON = (
    "the a of to in is and for on with that this as at by from it be are was will price market "
    "traders bitcoin btc eth volume chart trend move higher lower level zone daily weekly hourly "
    "above below near after before while still just more less than very into over under could "
    "would should may might we i my our you your they their now today week month risk position "
    "positions buyers sellers range break close open high low rally dump pump signal setup plan "
    "target targets stop money capital flow data shows showing signs momentum volatility retest"
).split()
TRADING = (
    "long short futures perpetual perp leverage leveraged liquidation liquidations support "
    "resistance breakout entry bullish bearish squeeze derivatives"
).split()
TRADING_PHRASES = ("funding rate", "open interest", "stop loss", "take profit")
CALM = (
    "coffee morning walk garden book music friends family weekend weather city travel photo "
    "dinner recipe movie park river mountain sunset holiday story learning community thanks"
).split()
TICKERS = "BTC ETH SOL XRP DOGE BNB ADA AVAX LINK DOT TON SUI PEPE ARB OP APT GT TRX LTC NEAR".split()
CHINESE = (
    "比特币 以太坊 行情 今天 市场 资金 趋势 回调 反弹 震荡 观察 关注 短线 中线 价格 区间 成交量 "
    "情绪 机会 风险 仓位 计划 目标 耐心 纪律 复盘 信号 形态 日线 小时线 周线 主力 散户 布局 策略 "
    "做多 做空 合约 杠杆 爆仓 清算 止损 止盈 支撑 阻力 突破 多单 空单 带单 跟单 持仓"
).split()
# Invented words stretch the vocabulary so that unrelated posts share about as many 5-grams as
# real English does (median J ~0.05 here, ~0.01-0.03 measured on English prose): a small word
# list would make every pair an LSH candidate and flatter nothing but the false-candidate rate.
SYLLABLES = "ka lo mi ra te su no vi de ba ren tor pal mek sin dra vol qua zen fi gor lum ast ix".split()


def make_vocabulary(rng: random.Random) -> list[str]:
    """Ranked vocabulary: common and trading words first, then invented words (Zipf tail)."""
    invented = {"".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4))) for _ in range(6000)}
    return COMMON + TRADING + sorted(invented)


# Zipf ranks keep a few words very frequent, as in real text, which is where 5-grams overlap.
def zipf_weights(size: int) -> list[float]:
    """Cumulative Zipf weights, for `random.choices(cum_weights=...)`."""
    return list(itertools.accumulate(1.0 / (rank + 1) for rank in range(size)))


CALM_VOCAB = CALM + ["".join(p) for p in itertools.product(SYLLABLES[:12], SYLLABLES[12:])]
CALM_WEIGHTS = zipf_weights(len(CALM_VOCAB))


def english_post(rng, vocab, weights, length, trading=True) -> str:
    words, wts = (vocab, weights) if trading else (CALM_VOCAB, CALM_WEIGHTS)
    parts, size = [], 0
    while size < length:
        sentence = rng.choices(words, cum_weights=wts, k=rng.randint(6, 16))
        if trading and rng.random() < 0.4:
            sentence.insert(rng.randrange(len(sentence)), "$" + rng.choice(TICKERS))
        if trading and rng.random() < 0.2:
            sentence.insert(rng.randrange(len(sentence)), rng.choice(TRADING_PHRASES))
        if rng.random() < 0.3:
            sentence.insert(rng.randrange(len(sentence)), f"{rng.uniform(0.1, 99999):,.2f}")
        text = " ".join(sentence).capitalize() + rng.choice(".!?")
        parts.append(text)
        size += len(text) + 1
    return " ".join(parts)[:length]


def chinese_post(rng, length) -> str:
    parts, size = [], 0
    while size < length:
        sentence = "".join(rng.choices(CHINESE, k=rng.randint(4, 12)))
        if rng.random() < 0.4:
            sentence += f"{rng.randint(1, 99999)}"
        parts.append(sentence + rng.choice("。!,"))
        size += len(parts[-1])
    return "".join(parts)[:length]


def near_copy(rng, source: str) -> str:
    """A small edit of `source`: a few word swaps, an inserted hashtag or URL, case changes."""
    words = source.split(" ")
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(words))
        words[i] = rng.choice(("moon", "rekt", "hodl", "wagmi", "🚀", "!!!", "#GateSquare"))
    text = " ".join(words)
    if rng.random() < 0.5:
        text += " https://www.gate.com/post/" + str(rng.randint(1, 10**9))
    # Case and whitespace changes cost nothing against the normalized 5-grams, as intended.
    if rng.random() < 0.3:
        text = text.upper()
    if rng.random() < 0.3:
        text = text.replace(" ", "  ", rng.randint(1, 20))
    return text


def generate(posts: int, seed: int):
    """Returns (posts, references, planted) with posts as dicts; fully determined by the seed."""
    rng = random.Random(seed)
    vocab = make_vocabulary(rng)
    weights = zipf_weights(len(vocab))
    span = (WINDOW_END - WINDOW_START).total_seconds()
    references = [english_post(rng, vocab, weights, 800) for _ in range(5)]
    corpus, planted = [], []
    for index in range(posts):
        created = WINDOW_START + timedelta(seconds=span * (index + rng.random()) / posts)
        # A few posts before the window: they fail check 1 but still count as earlier posts.
        if rng.random() < 0.01:
            created -= timedelta(days=30)
        text = None
        if index == posts - 1:
            # The last post copies a reference text, so the reference path is exercised too.
            text = near_copy(rng, references[0]).lower()
        elif index > 10 and rng.random() < 0.05:
            source = rng.randrange(index)
            source_shingles = shingles(corpus[source]["text"])
            # Edits of a short post can fall under 0.8; such a copy is not a planted duplicate,
            # so recall is measured only against copies that really are near-duplicates.
            for _ in range(5):
                candidate = near_copy(rng, corpus[source]["text"])
                if jaccard_at_least(shingles(candidate), source_shingles, THRESHOLD):
                    text = candidate
                    break
            if text is not None:
                planted.append((index, source))
                # A fifth of the copies predate their source: the source is then the duplicate.
                if rng.random() < 0.2:
                    created = corpus[source]["created_at"] - timedelta(seconds=rng.randint(1, 86400))
        if text is None:
            length = rng.randint(200, 2000)
            roll = rng.random()
            if roll < 0.15:
                text = chinese_post(rng, length)
            else:
                text = english_post(rng, vocab, weights, length, trading=roll > 0.18)
        corpus.append(
            {
                "post_id": f"p{index:07d}",
                "author_uid": rng.randint(1, posts // 20 + 2),
                "created_at": created,
                "text": text,
                "deleted": rng.random() < 0.01,
                "moderation": rng.choices((None, "approved", "rejected"), (0.98, 0.01, 0.01))[0],
            }
        )
    return corpus, references, planted


def entries_of(corpus, references):
    """(key, text, order) for the index: references first by construction of their order."""
    yield from ((f"ref:{i}", text, reference_order(i)) for i, text in enumerate(references))
    yield from ((p["post_id"], p["text"], post_order(p["created_at"], p["post_id"])) for p in corpus)


def judge_all(corpus, references, enrolled, lexicon):
    """The from-scratch run being measured: duplicate detection, then every verdict."""
    duplicates = earlier_duplicates(entries_of(corpus, references))
    reasons = Counter()
    for post in corpus:
        facts = PostFacts(
            in_window=WINDOW_START <= post["created_at"] < WINDOW_END,
            enrolled=post["author_uid"] in enrolled,
            deleted=post["deleted"],
            text=post["text"],
            is_duplicate=post["post_id"] in duplicates,
            moderation=post["moderation"],
        )
        reasons[judge(facts, lexicon=lexicon)] += 1
    return duplicates, reasons


def report_accuracy(corpus, references, planted, duplicates):
    order_of = {key: order for key, _, order in entries_of(corpus, references)}
    text_of = {key: text for key, text, _ in entries_of(corpus, references)}
    # Whichever of copy and source is later must be flagged: a copy dated before its source
    # turns the source into the duplicate (earliest wins).
    planted_later = {
        max(corpus[copy]["post_id"], corpus[source]["post_id"], key=order_of.__getitem__)
        for copy, source in planted
    }
    found = len(planted_later & duplicates.keys())
    wrong = sum(
        1
        for key, match in duplicates.items()
        if not order_of[match] < order_of[key]
        or not jaccard_at_least(shingles(text_of[key]), shingles(text_of[match]), THRESHOLD)
    )
    print(
        f"duplicates: {len(duplicates)} flagged; planted pairs {len(planted_later)}, found {found} "
        f"(recall {found / max(1, len(planted_later)):.4%}); false positives (match not earlier or "
        f"exact J < 0.8): {wrong}; flagged outside planted pairs (each verified exact: copies of "
        f"copies, the reference copy): {len(duplicates.keys() - planted_later)}; reference copy "
        f"flagged as a copy of: {duplicates.get(corpus[-1]['post_id'], 'nothing')}"
    )
    return order_of, text_of


def brute_force(order_of, text_of, duplicates):
    started = time.perf_counter()
    keys = sorted(text_of, key=order_of.__getitem__)
    sets = {key: shingles(text_of[key]) for key in keys}
    expected = {}
    for j, key in enumerate(keys):
        for earlier in keys[:j]:
            small, large = sorted((len(sets[key]), len(sets[earlier])))
            # J <= small/large: an exact bound that skips most pairs without intersecting them.
            if small * THRESHOLD.denominator < THRESHOLD.numerator * large:
                continue
            if order_of[earlier] < order_of[key] and jaccard_at_least(
                sets[key], sets[earlier], THRESHOLD
            ):
                expected[key] = earlier
                break
    verdict = "identical" if expected == duplicates else "DIFFERENT"
    print(f"brute force O(n^2): {verdict} ({time.perf_counter() - started:.1f} s)")


def _bucket_index(corpus, references):
    """{band key: [keys]} and {key: (order, text, signature row)} of the whole corpus."""
    memory = MemoryCorpus(entries_of(corpus, references))
    entries = {key: (order, text) for key, text, order in entries_of(corpus, references)}
    buckets: dict[int, list] = {}
    for row, key in enumerate(memory.keys):
        if memory.bands.has[row]:
            for band_key in memory.bands.keys[row].tolist():
                buckets.setdefault(band_key, []).append(key)
    signatures = dict(zip(memory.keys, memory.signatures(list(range(len(memory.keys))))))
    return buckets, entries, signatures


def _extra_post(buckets, entries, signatures, key, text, order):
    """Index one new text, then let the core's incremental decision say who links to whom."""
    sig = text_signature(text)
    entries[key] = (order, text)
    signatures[key] = signature_matrix([sig])[0][0]
    found = {other for band_key in band_keys(sig) for other in buckets.get(band_key, ())}
    for band_key in band_keys(sig):
        buckets.setdefault(band_key, []).append(key)
    found = sorted(found, key=lambda o: entries[o][0])
    candidates = [o for o, ok in zip(found, plausible(np.array([signatures[o] for o in found]).reshape(-1, signatures[key].size), signatures[key])) if ok]
    return relinks(
        relink=[key],
        changed=[key],
        candidates={key: candidates},
        order=lambda o: entries[o][0],
        link_order=lambda o: None,
        near=lambda a, b: jaccard_at_least(shingles(entries[a][1]), shingles(entries[b][1]), THRESHOLD),
        linkable=lambda o: not str(o).startswith("ref:"),
    )


def time_incremental(corpus, references, lexicon, seed):
    started = time.perf_counter()
    buckets, entries, signatures = _bucket_index(corpus, references)
    print(f"incremental: band keys of {len(entries)} texts loaded in {time.perf_counter() - started:.1f} s")
    rng = random.Random(seed + 2)
    timings, flagged, expected = [], 0, 0
    for n in range(20):
        source = corpus[rng.randrange(len(corpus))]
        text = near_copy(rng, source["text"])
        expected += jaccard_at_least(shingles(text), shingles(source["text"]), THRESHOLD)
        key = f"extra{n}"
        # Even: a new post at the end of the window. Odd: a post written before everything but
        # ingested last, whose later near-duplicates must be found to flip their verdicts.
        created = WINDOW_END - timedelta(minutes=1) if n % 2 == 0 else WINDOW_START - timedelta(days=9)
        started = time.perf_counter()
        links = _extra_post(buckets, entries, signatures, key, text, post_order(created, key))
        hit = links.get(key) is not None if n % 2 == 0 else links.get(source["post_id"]) == key
        facts = PostFacts(True, True, False, text, n % 2 == 0 and hit, None)
        judge(facts, lexicon=lexicon)
        timings.append(time.perf_counter() - started)
        flagged += hit
    timings.sort()
    print(
        f"incremental: one extra post added and judged in median {timings[10] * 1000:.2f} ms, max "
        f"{timings[-1] * 1000:.2f} ms over 20; {flagged} found their near-duplicate ({expected} were "
        f"edits with exact J >= 0.8 to it)"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--brute-force", action="store_true")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    corpus, references, planted = generate(args.posts, args.seed)
    print(
        f"corpus: {len(corpus)} posts, {len(references)} references, {len(planted)} planted "
        f"near-copies, {sum(len(p['text']) for p in corpus) / len(corpus):.0f} chars/post "
        f"(generated in {time.perf_counter() - started:.1f} s, not counted below)"
    )
    # One author in ten is not enrolled, so check 2 has work to do too.
    enrolled = {uid for uid in range(1, args.posts // 20 + 3) if uid % 10}
    lexicon = Lexicon.default()

    started = time.perf_counter()
    duplicates, reasons = judge_all(corpus, references, enrolled, lexicon)
    total = time.perf_counter() - started
    print(f"from scratch: {total:.1f} s wall, {len(corpus) / total:,.0f} posts/s")
    print("reasons:", ", ".join(f"{reason or 'qualified'}={n}" for reason, n in reasons.most_common()))
    order_of, text_of = report_accuracy(corpus, references, planted, duplicates)
    if args.brute_force:
        brute_force(order_of, text_of, duplicates)
    time_incremental(corpus, references, lexicon, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())
