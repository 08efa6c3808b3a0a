"""Words the pure core hands to the pages without translating them (issue 16).

The pure modules (the score, the measurements, the radiograph, the cohort's statistics) import no
Django, so they cannot know the reader's language. Where they must say something in words, they
return a `Text`: the English sentence, which is the gettext message id, and the values of its
`%(name)s` placeholders. `gettext_noop` marks the sentence for `makemessages` (it extracts that
keyword) and returns it unchanged. The presentation layer turns a Text into the user's language
with `nasovcf_site.i18n.words` (or the `words` template filter); `str(text)` is the English.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field


def gettext_noop(message: str) -> str:
    """Mark `message` for the catalogue (makemessages extracts this name) and return it as it is."""
    return message


@dataclass(frozen=True)
class Text:
    """An English sentence (a gettext msgid, marked with gettext_noop) and its placeholders' values.

    A value may itself be a Text (translated too) or a sequence of Texts (translated and joined
    with ", ")."""

    msgid: str
    params: Mapping[str, object] = field(default_factory=dict)  # a plain dict: a Text pickles (the report cache)

    def render(self, translate: object = None) -> str:
        """The sentence with its values, through `translate` (a gettext) or in English."""
        tr: Callable[[str], object] = translate if callable(translate) else (lambda message: message)
        if not self.params:
            return str(tr(self.msgid))
        values = {name: _render_value(value, tr) for name, value in self.params.items()}
        return str(tr(self.msgid)) % values

    def __str__(self) -> str:
        return self.render()


def text(msgid: str, **params: object) -> Text:
    """`Text(msgid, params)`, the short way: `text(gettext_noop("Age %(age)s is below 60"), age=58)`."""
    return Text(msgid, dict(params))


def _render_value(value: object, tr: Callable[[str], object]) -> object:
    if isinstance(value, Text):
        return value.render(tr)
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, Text) for v in value):
        return ", ".join(v.render(tr) for v in value)
    return value
