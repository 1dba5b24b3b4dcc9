"""Reading a page as a person does, for the tests of the admin's words."""

import html as htmllib
import re


def visible(response) -> str:
    """The page's text as read: tags removed, entities decoded, spaces collapsed."""
    body = re.sub(r"<script.*?</script>|<style.*?</style>", " ", response.content.decode(), flags=re.S)
    body = re.sub(r"</?(?:strong|b|em|code|span|a)\b[^>]*>", "", body)  # inline: no word break
    return re.sub(r"\s+", " ", htmllib.unescape(re.sub(r"<[^>]+>", " ", body)))


def messages_of(response) -> list[str]:
    """The messages the admin shows on this response (none when it rendered no template)."""
    return [str(m) for m in response.context["messages"]] if response.context else []
