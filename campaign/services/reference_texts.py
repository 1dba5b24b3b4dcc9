"""Reference texts: texts ops load for the duplicate check (RULES.md section 3, check 6: a post that
is a near-duplicate of a reference text is a duplicate; section 9: the `---` separated file).

The same text twice is stored once; the posts that turn out to be near-copies of a new reference
text are judged again at once.
"""

from campaign.models import Campaign, ReferenceText
from campaign.near_duplicates import text_signature
from campaign.services.duplicates import duplicates_lock, duplicates_refresh
from campaign.services.judging import posts_judge
from campaign.services.posts import content_hash
from campaign.services.signups import campaign_import_run_create
from core.imports import ImportReport, run_import
from core.models import ImportRun
from core.reading import SourceRecord, decoded_lines, line_limit


class _ReferenceText:
    """One reference text as it is read, line by line: its lines while it stays within the
    campaign's maximum (a longer one is read on without keeping, and rejected), its length as
    it is stored (without the whitespace around it), and the first line that could not be read."""

    def __init__(self, start: int):
        self.start, self.end, self.lines, self.length, self.after = start, start, [], 0, 0
        self.problem = None

    def add(self, line, max_chars: int) -> None:
        self.end = line.number
        if line.error is not None and self.problem is None:
            self.problem = f"line {line.number}: {line.error}"
        text = line.text if line.text is not None else line.raw
        if not self.lines and not self.length:
            text = text.lstrip()
            if not text:
                return  # leading whitespace: not part of the text
        else:
            self.after += 1  # the line break before this line
        core = text.rstrip()
        if core:
            self.length += self.after + len(core)
            self.after = len(text) - len(core)
            if self.length <= max_chars:
                self.lines.append(text)
        else:
            self.after += len(text)
            if self.length + self.after <= max_chars:
                self.lines.append(text)  # whitespace that is inside the text if more follows

    def record(self, max_chars: int) -> SourceRecord | None:
        raw = "\n".join(self.lines)
        if self.problem is not None:
            return SourceRecord(self.start, raw, None, self.problem, last_line=self.end)
        if not self.length:
            return None
        if self.length > max_chars:
            return SourceRecord(self.start, raw, None, f"text is {self.length:,} characters; the campaign's maximum is {max_chars:,}", last_line=self.end)
        return SourceRecord(self.start, raw, {"text": raw.strip()}, last_line=self.end)


def _reference_records(data, *, max_chars: int):
    """Texts separated by a line `---`; each reported at the line where it starts. Streamed line
    by line: a line over the line limit or not UTF-8 rejects its text (the reason names the
    line), and a text longer than `max_chars` is rejected without being held whole."""
    current = _ReferenceText(1)
    for line in decoded_lines(data, limit=line_limit()):
        if line.text is not None and line.text.strip() == "---":
            if (record := current.record(max_chars)) is not None:
                yield record
            current = _ReferenceText(line.number + 1)
        else:
            current.add(line, max_chars)
    if (record := current.record(max_chars)) is not None:
        yield record


def reference_texts_import(
    *, campaign: Campaign, data, source=ImportRun.Source.COMMAND, filename="", created_by="", progress=None, run=None
) -> ImportReport:
    """Load reference texts for the duplicate check; the same text twice is stored once.

    Posts that turn out to be near-copies of a new reference text flip to `duplicate`. A text
    longer than the campaign's maximum post text is rejected (it could never be a post's
    near-duplicate). `data`: bytes or a binary file object, streamed; `run`: an unfinished run
    to continue.
    """

    def parse(item):
        text = item["text"]
        if not text_signature(text):
            raise ValueError("text is under 5 characters once URLs and whitespace are removed; it could never match")
        return text

    def write(chunk, run):
        duplicates_lock(campaign)
        refs = {content_hash(text): (record, text) for record, text in chunk}
        known = set(ReferenceText.objects.filter(campaign=campaign, content_hash__in=list(refs)).values_list("content_hash", flat=True))
        created = ReferenceText.objects.bulk_create(
            [
                ReferenceText(campaign=campaign, text=text, content_hash=digest, signature=text_signature(text), import_run=run)
                for digest, (_, text) in refs.items()
                if digest not in known
            ]
        )
        new_ids = set(ReferenceText.objects.filter(campaign=campaign, content_hash__in=[r.content_hash for r in created]).values_list("id", flat=True))
        affected = duplicates_refresh(campaign=campaign, reference_ids=new_ids)
        posts_judge(campaign=campaign, post_ids=affected)
        return []

    return run_import(
        kind=ImportRun.Kind.REFERENCE_TEXTS,
        records=_reference_records(data, max_chars=campaign.max_text_length),
        parse=parse,
        write=write,
        source=source,
        filename=filename,
        created_by=created_by,
        progress=progress,
        run=run or campaign_import_run_create(campaign=campaign, kind=ImportRun.Kind.REFERENCE_TEXTS, source=source, filename=filename, created_by=created_by),
    )
