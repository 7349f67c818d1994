"""Two readings of markup to compare: the elements as the markup spells them (mailpatch's own
tokenizer, each end tag closing its own) and as an HTML5 parser builds them (html5lib, the
tree construction browsers follow); and a patched email's Button contents as the locator reads
them. Shared by tests/test_fidelity.py and tests/test_generated_emails.py."""

from __future__ import annotations

import html5lib

from mailpatch._html import VOID, Kind, tokenize


def spelled(markup: str) -> list[tuple[int, str]]:
    """(depth, tag) of every element, as the markup spells it (each end tag closes its own)."""
    out: list[tuple[int, str]] = []
    stack: list[str] = []
    for tok in tokenize(markup):
        if tok.kind is Kind.START:
            out.append((len(stack), tok.name))
            if tok.name not in VOID and not markup[tok.start : tok.end].endswith("/>"):
                stack.append(tok.name)
        elif tok.kind is Kind.END and tok.name in stack:
            while stack.pop() != tok.name:
                pass
    return out


def parsed(markup: str) -> list[tuple[int, str]]:
    """(depth, tag) of every element as an HTML5 parser builds it, inside a <div>."""
    root = html5lib.parseFragment(markup, container="div", namespaceHTMLElements=False)
    out: list[tuple[int, str]] = []

    def walk(el: object, depth: int) -> None:
        for child in el:  # type: ignore[attr-defined]
            if isinstance(child.tag, str):
                out.append((depth, child.tag))
                walk(child, depth + 1)

    walk(root, 0)
    return out


def button_contents(text: str) -> list[str]:
    """The content of each Button block of ``text`` (as the locator reads them)."""
    from mailpatch._blocks import BUTTON_TYPE, locate

    doc = locate(text)
    return [text[el.content_start : el.content_end] for el in doc.blocks_of(BUTTON_TYPE)]
