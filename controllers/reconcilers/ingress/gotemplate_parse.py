"""Lexer and parser of the Go ``text/template`` subset in :mod:`.gotemplate` (upstream uses
Go's own; this is the part that turns template text into nodes, with Go's parse errors)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Final

__all__ = [
    "Action",
    "Branch",
    "Command",
    "GoTemplateError",
    "Operand",
    "Pipe",
    "Source",
    "Text",
    "go_quote",
    "parse_nodes",
]


class GoTemplateError(ValueError):
    """A template that does not parse or fails to execute (Go's error text)."""


# ---------------------------------------------------------------------------------------------
# lexer
# ---------------------------------------------------------------------------------------------

_SPACE = " \t\r\n"
_IDENT_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_NUMBER_RE = re.compile(r"[+-]?(0[xX][0-9a-fA-F_]+|0[bB][01_]+|0[oO]?[0-7_]+|[0-9][0-9_]*)")
_FUNCS: Final = frozenset(
    {"index", "len", "not", "and", "or", "eq", "ne", "lt", "le", "gt", "ge", "print",
     "printf", "println"}
)
_UNSUPPORTED_FUNCS: Final = frozenset({"call", "html", "js", "slice", "urlquery"})
_UNSUPPORTED_KEYWORDS: Final = frozenset(
    {"range", "define", "template", "block", "break", "continue"}
)


@dataclass(frozen=True)
class _Tok:
    kind: str  # field, dot, var, ident, string, number, bool, nil, pipe, lparen, rparen
    value: Any
    pos: int
    end: int
    space_before: bool


class Source:
    def __init__(self, name: str, text: str) -> None:
        self.name = name
        self.text = text

    def line(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def parse_error(self, pos: int, msg: str) -> GoTemplateError:
        return GoTemplateError(f"template: {self.name}:{self.line(pos)}: {msg}")

    def location(self, pos: int) -> str:
        line_start = self.text.rfind("\n", 0, pos) + 1
        return f"{self.name}:{self.line(pos)}:{pos - line_start}"


def _unquote(src: Source, body: str, pos: int) -> str:
    """Go's ``strconv.Unquote`` of an interpreted string literal's body."""
    out: list[str] = []
    i = 0
    simple = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
              "\\": "\\", '"': '"'}
    while i < len(body):
        c = body[i]
        if c != "\\":
            out.append(c)
            i += 1
            continue
        if i + 1 >= len(body):
            raise src.parse_error(pos, "unterminated quoted string")
        e = body[i + 1]
        if e in simple:
            out.append(simple[e])
            i += 2
            continue
        width = {"x": 2, "u": 4, "U": 8}.get(e)
        if width is not None:
            digits = body[i + 2 : i + 2 + width]
            if len(digits) != width or not all(d in "0123456789abcdefABCDEF" for d in digits):
                raise src.parse_error(pos, "invalid syntax")
            out.append(chr(int(digits, 16)))
            i += 2 + width
            continue
        if e in "01234567":
            digits = body[i + 1 : i + 4]
            if len(digits) != 3 or not all(d in "01234567" for d in digits):
                raise src.parse_error(pos, "invalid syntax")
            out.append(chr(int(digits, 8)))
            i += 4
            continue
        raise src.parse_error(pos, "invalid syntax")
    return "".join(out)


def _lex_action(src: Source, start: int, end: int) -> list[_Tok]:
    """Tokens of the action body ``text[start:end]`` (delimiters and trim markers removed)."""
    text = src.text
    toks: list[_Tok] = []
    i = start
    space = False
    while i < end:
        c = text[i]
        if c in _SPACE:
            space = True
            i += 1
            continue
        if c == "." and (i + 1 >= end or not (text[i + 1].isalnum() or text[i + 1] == "_")):
            toks.append(_Tok("dot", ".", i, i + 1, space))
            i += 1
        elif c == ".":
            m = _IDENT_RE.match(text, i + 1, end)
            if m is None:
                raise src.parse_error(i, f"bad character {_go_char(text[i + 1])}")
            toks.append(_Tok("field", m.group(), i, m.end(), space))
            i = m.end()
        elif c == "$":
            m = _IDENT_RE.match(text, i + 1, end)
            name = "$" + (m.group() if m else "")
            toks.append(_Tok("var", name, i, i + len(name), space))
            i += len(name)
        elif c == '"':
            j = i + 1
            while j < end and text[j] != '"':
                if text[j] == "\n":
                    raise src.parse_error(i, "unterminated quoted string")
                j += 2 if text[j] == "\\" else 1
            if j >= end:
                raise src.parse_error(i, "unterminated quoted string")
            toks.append(_Tok("string", _unquote(src, text[i + 1 : j], i), i, j + 1, space))
            i = j + 1
        elif c == "`":
            j = text.find("`", i + 1, end)
            if j < 0:
                raise src.parse_error(i, "unterminated raw quoted string")
            toks.append(_Tok("string", text[i + 1 : j], i, j + 1, space))
            i = j + 1
        elif c == "|":
            toks.append(_Tok("pipe", "|", i, i + 1, space))
            i += 1
        elif c == "(":
            toks.append(_Tok("lparen", "(", i, i + 1, space))
            i += 1
        elif c == ")":
            toks.append(_Tok("rparen", ")", i, i + 1, space))
            i += 1
        elif c in "+-" or c.isdigit():
            m = _NUMBER_RE.match(text, i, end)
            stop = m.end() if m else i + 1
            number: int | None = None
            if m is not None and not (stop < end and (text[stop].isalnum() or text[stop] == ".")):
                try:
                    number = int(m.group().replace("_", ""), 0)
                except ValueError:
                    number = None
            if number is None:
                bad = text[i : min(stop + 1, end)]
                raise src.parse_error(i, f"bad number syntax: {go_quote(bad)}")
            toks.append(_Tok("number", number, i, stop, space))
            i = stop
        elif c.isalpha() or c == "_":
            m = _IDENT_RE.match(text, i, end)
            assert m is not None
            word = m.group()
            if word in ("true", "false"):
                toks.append(_Tok("bool", word == "true", i, m.end(), space))
            elif word == "nil":
                toks.append(_Tok("nil", None, i, m.end(), space))
            else:
                toks.append(_Tok("ident", word, i, m.end(), space))
            i = m.end()
        elif c == ":" or c == "=":
            raise src.parse_error(i, "variable declarations are not supported in this template")
        else:
            raise src.parse_error(i, f"unrecognized character in action: {_go_char(c)}")
        space = False
    return toks


def _go_char(c: str) -> str:
    return f"U+{ord(c):04X} {c!r}".replace('"', "'")


def go_quote(s: str) -> str:
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'


# ---------------------------------------------------------------------------------------------
# nodes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Operand:
    kind: str  # field, dot, var, ident, string, number, bool, nil, pipe
    value: Any  # field/var: tuple of names; pipe: Pipe; literal: the value
    pos: int
    text: str  # source text, for error context


@dataclass(frozen=True)
class Command:
    args: tuple[Operand, ...]
    pos: int
    text: str  # source text, for error context


@dataclass(frozen=True)
class Pipe:
    cmds: tuple[Command, ...]
    pos: int


@dataclass(frozen=True)
class Text:
    text: str


@dataclass(frozen=True)
class Action:
    pipe: Pipe


@dataclass
class Branch:
    kind: str  # "if" or "with"
    pipe: Pipe
    body: list[Any] = field(default_factory=list)
    orelse: list[Any] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------
# parser
# ---------------------------------------------------------------------------------------------


class _Parser:
    def __init__(self, src: Source, toks: list[_Tok], end_pos: int) -> None:
        self.src = src
        self.toks = toks
        self.i = 0
        self.end_pos = end_pos

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def pipeline(self, context: str, *, in_paren: bool = False) -> Pipe:
        cmds: list[Command] = []
        start = self.toks[self.i].pos if self.i < len(self.toks) else self.end_pos
        while True:
            cmds.append(self.command(context, in_paren=in_paren))
            tok = self.peek()
            if tok is None or tok.kind == "rparen":
                break
            assert tok.kind == "pipe"
            self.i += 1
        return Pipe(tuple(cmds), start)

    def command(self, context: str, *, in_paren: bool) -> Command:
        args: list[Operand] = []
        while True:
            tok = self.peek()
            if tok is None or tok.kind in ("pipe", "rparen"):
                break
            args.append(self.operand())
        if not args:
            tok = self.peek()
            if tok is not None and tok.kind == "rparen" and not in_paren:
                raise self.src.parse_error(tok.pos, "unexpected right paren")
            pos = tok.pos if tok is not None else self.end_pos
            raise self.src.parse_error(pos, f"missing value for {context}")
        last = self.toks[self.i - 1]
        return Command(tuple(args), args[0].pos, self.src.text[args[0].pos : last.end])

    def operand(self) -> Operand:
        tok = self.toks[self.i]
        self.i += 1
        if tok.kind == "lparen":
            pipe = self.pipeline("parenthesized pipeline", in_paren=True)
            close = self.peek()
            if close is None or close.kind != "rparen":
                raise self.src.parse_error(tok.pos, "unclosed left paren")
            self.i += 1
            op = Operand("pipe", pipe, tok.pos, self.src.text[tok.pos : close.pos + 1])
        elif tok.kind == "field":
            names = [tok.value]
            names.extend(self.chained_fields())
            text = "." + ".".join(names)
            op = Operand("field", tuple(names), tok.pos, text)
        elif tok.kind == "var":
            if tok.value != "$":
                raise self.src.parse_error(tok.pos, f"undefined variable {go_quote(tok.value)}")
            names = self.chained_fields()
            op = Operand("var", tuple(names), tok.pos, "".join(["$", *("." + n for n in names)]))
        elif tok.kind == "ident":
            name = tok.value
            if name in ("if", "with", "else", "end") or name in _UNSUPPORTED_KEYWORDS:
                raise self.src.parse_error(tok.pos, f"unexpected <{name}> in command")
            if name in _UNSUPPORTED_FUNCS:
                raise self.src.parse_error(
                    tok.pos, f"function {go_quote(name)} is not supported in this template"
                )
            if name not in _FUNCS:
                raise self.src.parse_error(tok.pos, f"function {go_quote(name)} not defined")
            op = Operand("ident", name, tok.pos, name)
        elif tok.kind == "dot":
            op = Operand("dot", (), tok.pos, ".")
        elif tok.kind in ("string", "number", "bool", "nil"):
            op = Operand(tok.kind, tok.value, tok.pos, self.src.text[tok.pos : tok.end])
        else:
            raise self.src.parse_error(tok.pos, f"unexpected {go_quote(tok.value)} in operand")
        nxt = self.peek()
        if nxt is not None and nxt.kind == "field" and not nxt.space_before:
            raise self.src.parse_error(nxt.pos, "field chains on this operand are not supported")
        return op

    def chained_fields(self) -> list[str]:
        names: list[str] = []
        while True:
            nxt = self.peek()
            if nxt is None or nxt.kind != "field" or nxt.space_before:
                return names
            names.append(nxt.value)
            self.i += 1

    def done(self) -> None:
        tok = self.peek()
        if tok is not None:
            got = go_quote(str(tok.value))
            raise self.src.parse_error(tok.pos, f"unexpected {got} in command")


_TRIM = " \t\r\n"


def parse_nodes(name: str, text: str) -> list[Any]:
    src = Source(name, text)
    root: list[Any] = []
    stack: list[tuple[Branch, bool, int]] = []  # (branch, in_else, pos)
    target = root
    pos = 0
    trim_next = False
    while True:
        start = text.find("{{", pos)
        chunk = text[pos:] if start < 0 else text[pos:start]
        if trim_next:
            chunk = chunk.lstrip(_TRIM)
        if start < 0:
            if chunk:
                target.append(Text(chunk))
            break
        body = start + 2
        trim_left = text[body : body + 1] == "-" and text[body + 1 : body + 2] in tuple(_SPACE)
        if trim_left:
            chunk = chunk.rstrip(_TRIM)
            body += 1
        if chunk:
            target.append(Text(chunk))
        # a comment starts right after the delimiter (or after "{{- ")
        comment = body + 1 if trim_left else body
        if text.startswith("/*", comment):
            close = text.find("*/", comment + 2)
            if close < 0:
                raise src.parse_error(start, "unclosed comment")
            after = close + 2
            if text.startswith("}}", after):
                pos, trim_next = after + 2, False
                continue
            if text.startswith(" -}}", after):
                pos, trim_next = after + 4, True
                continue
            raise src.parse_error(start, "comment ends before closing delimiter")
        end = _find_close(src, body)
        trim_next = False
        action_end = end
        if end - 1 >= body and text[end - 1] == "-" and end - 2 >= body and text[end - 2] in _SPACE:
            trim_next = True
            action_end = end - 1
        toks = _lex_action(src, body, action_end)
        pos = end + 2
        if not toks:
            raise src.parse_error(start, "missing value for command")
        head = toks[0]
        keyword = head.value if head.kind == "ident" else None
        if keyword in ("if", "with"):
            p = _Parser(src, toks[1:], action_end)
            pipe = p.pipeline(keyword)
            p.done()
            branch = Branch(keyword, pipe)
            target.append(branch)
            stack.append((branch, False, start))
            target = branch.body
        elif keyword == "else":
            if not stack or stack[-1][1]:
                raise src.parse_error(start, "unexpected {{else}}")
            branch, _, bpos = stack.pop()
            if len(toks) > 1:
                sub = toks[1]
                if not (sub.kind == "ident" and sub.value in ("if", "with")):
                    raise src.parse_error(sub.pos, "unexpected token in {{else}}")
                p = _Parser(src, toks[2:], action_end)
                pipe = p.pipeline(sub.value)
                p.done()
                nested = Branch(sub.value, pipe)
                branch.orelse.append(nested)
                # ``else if`` shares the outer ``end``: the nested branch closes with it
                stack.append((branch, True, bpos))
                stack.append((nested, False, -1))
                target = nested.body
            else:
                stack.append((branch, True, bpos))
                target = branch.orelse
        elif keyword == "end":
            if len(toks) > 1:
                raise src.parse_error(toks[1].pos, "unexpected token in {{end}}")
            if not stack:
                raise src.parse_error(start, "unexpected {{end}}")
            while stack and stack[-1][2] == -1:
                stack.pop()  # nested else-if branches end with their outer branch
            stack.pop()
            if stack:
                b, in_else, _ = stack[-1]
                target = b.orelse if in_else else b.body
            else:
                target = root
        elif keyword in _UNSUPPORTED_KEYWORDS:
            raise src.parse_error(
                start, f"{{{{{keyword}}}}} is not supported in this template"
            )
        else:
            p = _Parser(src, toks, action_end)
            pipe = p.pipeline("command")
            p.done()
            target.append(Action(pipe))
    if stack:
        raise src.parse_error(len(text), "unexpected EOF")
    return root


def _find_close(src: Source, body: int) -> int:
    """Index of the ``}}`` closing an action whose body starts at ``body``; string and raw
    string literals may hold braces."""
    text = src.text
    i = body
    while i < len(text):
        if text.startswith("}}", i):
            return i
        c = text[i]
        if c in "\"`":
            j = i + 1
            while j < len(text) and text[j] != c:
                if c == '"' and text[j] == "\n":
                    raise src.parse_error(i, "unterminated quoted string")
                j += 2 if (c == '"' and text[j] == "\\") else 1
            if j >= len(text):
                raise src.parse_error(i, "unclosed action")
            i = j + 1
            continue
        i += 1
    raise src.parse_error(body, "unclosed action")
