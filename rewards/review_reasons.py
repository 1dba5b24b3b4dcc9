"""The words a settlement writes on a review item (its reason; the note and the closer of an item
it withdraws), and the same words in the reader's language.

They are stored in English, as written by the settlement (a record: it never changes with who
reads it), from the templates below; the admin shows them translated by reading the figures back
out of the stored text. A text written in another form (an older row) is shown as stored.
"""

import re

from django.utils.translation import gettext, gettext_noop

from rewards.models import Reward

REASON_COMPUTES = gettext_noop("settlement #%(run)s now computes %(amount)s %(asset)s; the %(state)s reward holds %(held)s")
REASON_GONE = gettext_noop("settlement #%(run)s no longer gives this reward; the %(state)s reward holds %(held)s")
NOTE_WITHDRAWN = gettext_noop("settlement #%(run)s computes %(amount)s %(asset)s, what the reward holds")
BY_SETTLEMENT = gettext_noop("settlement #%(run)s")  # who closed a withdrawn item
TEMPLATES = (REASON_COMPUTES, REASON_GONE, NOTE_WITHDRAWN, BY_SETTLEMENT)


def _pattern(template: str) -> re.Pattern:
    parts = re.split(r"%\((\w+)\)s", template)
    regex = "".join(re.escape(part) if i % 2 == 0 else rf"(?P<{part}>\S+?)" for i, part in enumerate(parts))
    return re.compile(f"^{regex}$")


PATTERNS = [(template, _pattern(template)) for template in TEMPLATES]


def review_reason_write(template: str, *, run, state="", **figures) -> str:
    """The English text a settlement stores; `state` is a Reward.State value, never a label in the
    language of whoever triggered the settlement."""
    return template % {"run": run, "state": state, **figures}


def review_reason_display(text: str) -> str:
    """`text` as written by `review_reason_write`, in the active language; any other text as is."""
    for template, pattern in PATTERNS:
        match = pattern.match(text or "")
        if match is None:
            continue
        figures = match.groupdict()
        if "state" in figures:
            # Stored as the state's value, which is also its English label ("approved").
            if figures["state"] not in Reward.State.values:
                return text
            figures["state"] = Reward.State(figures["state"]).label
        return gettext(template) % figures
    return text
