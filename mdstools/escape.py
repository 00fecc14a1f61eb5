"""Server and operator data is data: one function per kind of output it is written into.

Admin, object and domain names, error texts, a ticket id: whatever came from a server or an
operator goes through the function of the output it lands in, never in raw:

* :func:`html_text`: HTML text and quoted attribute values (also SVG/XML text);
* :func:`markdown_text`: Markdown cells and ``ui.markdown`` (HTML and Markdown syntax, line
  breaks: a name cannot start a block, a link, emphasis or a code span);
* :func:`shell_comment`: one ``#`` comment line of a shell script (no line break survives);
* :func:`shell_word`: one argument of a shell command line (quoted for bash);
* :func:`csv_cell`: a CSV cell a spreadsheet shows as text, never runs as a formula;
* :func:`terminal_text`: a line for a terminal or a log (no escape sequence reaches it).

Invisible characters (C0/C1 controls, line and paragraph separators, format characters such
as bidirectional overrides and zero-width spaces, lone surrogates, private-use and unassigned
code points) are shown as visible escapes (``\\n``, ``\\x1b``, ``\\u2028``) where an
output cannot carry them safely: a reader sees what the server sent instead of text that a
terminal, an editor or a spreadsheet reinterprets.
"""

from __future__ import annotations

import unicodedata

from mdstools.commands.base import quote

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v", "\f": "\\f", "\0": "\\0"}
_MARKDOWN_PUNCTUATION = frozenset("!#$%()*+,-./:;=?@[\\]^_`{|}~")
_HTML = {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;"}
FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def _invisible(ch: str) -> bool:
    """Not printable and not a space: controls, format characters, line and paragraph
    separators, surrogates, private-use and unassigned code points (U+FFFE, U+FFFF)."""
    return not ch.isprintable() and unicodedata.category(ch) != "Zs"


def _escape_char(ch: str) -> str:
    """``\\n``, ``\\x1b``, ``\\u2028``: how an invisible character is shown."""
    if ch in _NAMED:
        return _NAMED[ch]
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def visible(value: object, keep: str = "") -> str:
    """``value`` as text with every invisible character (except those in ``keep``) escaped."""
    text = str(value)
    return "".join(_escape_char(ch) if _invisible(ch) and ch not in keep else ch for ch in text)


def html_text(value: object) -> str:
    """``value`` for HTML (or XML/SVG) text and for a quoted attribute value.

    ``& < > " '`` become entities; line feeds and carriage returns become character
    references (the text stays on one source line, so a Markdown cell's HTML block cannot
    end inside it); tabs stay; other invisible characters are shown as escapes (and
    characters XML forbids never reach an SVG).
    """
    out = []
    for ch in str(value):
        if ch in _HTML:
            out.append(_HTML[ch])
        elif ch == "\n":
            out.append("&#10;")
        elif ch == "\r":
            out.append("&#13;")
        elif ch == "\t":
            out.append(ch)
        elif _invisible(ch):
            out.append(_escape_char(ch))
        else:
            out.append(ch)
    return "".join(out)


def markdown_text(value: object) -> str:
    """``value`` as literal text inside Markdown: renders exactly as the text, on one line.

    Invisible characters (line breaks included) are shown as escapes first; then HTML's
    ``& < > " '`` become entities and every other ASCII punctuation character a Markdown
    renderer could read as syntax (emphasis, links, code spans, headings, lists, tables,
    math) is backslash-escaped; a leading space becomes a character reference (four would
    start a code block). Not for use inside a backtick code span (entities and escapes
    are literal there): write ``<code>`` + this + ``</code>`` instead, whose content
    Markdown still parses.
    """
    out = []
    for ch in visible(value):
        if ch in _HTML:
            out.append(_HTML[ch])
        elif ch in _MARKDOWN_PUNCTUATION:
            out.append("\\" + ch)
        elif ch == " " and not out:
            out.append("&#32;")
        else:
            out.append(ch)
    return "".join(out)


def shell_comment(text: object) -> str:
    """One ``#`` comment line of a shell script showing ``text``.

    Every line break (LF, CR, VT, FF, NEL U+0085, U+2028/U+2029) and every other invisible
    character is shown as an escape, so nothing after the ``#`` can become a command line,
    and a terminal or an editor shows the line as it will be read.
    """
    return "# " + visible(text)


def shell_word(value: object) -> str:
    """``value`` as one argument of a bash command line (single-quoted when needed)."""
    return quote(str(value))


def fits_shell_word(value: object) -> bool:
    """Whether a command argument can carry ``value`` unchanged: no NUL byte (arguments
    end at one) and no lone surrogate (not encodable as UTF-8)."""
    return not any(ch == "\0" or 0xD800 <= ord(ch) <= 0xDFFF for ch in str(value))


def csv_cell(value: object) -> str:
    """``value`` for a CSV cell that a spreadsheet must show as text, not evaluate.

    A cell starting with ``=``, ``+``, ``-``, ``@``, a tab or a line break is a formula
    to Excel, LibreOffice and Google Sheets (``=HYPERLINK(...)``, ``@SUM(...)``, DDE);
    such a cell gets a leading ``'``, which spreadsheets take as "text" and do not show.
    The csv module quotes separators, quotes and line breaks inside a cell.
    """
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_START) else text


def terminal_text(value: object) -> str:
    """``value`` for a terminal line or a log: escape sequences and line breaks shown as
    escapes, so data can neither colour, move the cursor nor fake another log line."""
    return visible(value, keep="\t")
