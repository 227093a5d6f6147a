"""A subset of Go's ``text/template``, enough for ``inferenceservice-config``'s
``ingress.domainTemplate`` and ``ingress.pathTemplate`` (upstream renders both with
``text/template`` over a small struct).

Supported, with Go's semantics: text and ``{{ }}`` actions with ``{{-``/``-}}`` trimming and
``{{/* comments */}}``; field chains on the data (``.Name``, ``.Labels.team``, ``$``,
``$.Name``); string, raw-string, integer and boolean literals; parenthesised pipelines and
``|`` pipes; the built-in functions ``index``, ``len``, ``not``, ``and``, ``or``, ``eq``,
``ne``, ``lt``, ``le``, ``gt``, ``ge``, ``print``, ``printf`` (``%s %v %d %q %%``) and
``println``; ``if``/``else``/``else if``/``with``/``end``.

Go's behaviour kept on purpose: a field the struct lacks is an execution error ("can't
evaluate field X in type T"); a missing map key prints ``<no value>`` (``.Labels.x``) while
``index .Labels "x"`` gives ``""``; error texts follow Go's (``template: NAME:LINE:COL:
executing "NAME" at <NODE>: ...``). Anything else (``range``, ``define``, ``template``,
``block``, variables declared with ``:=``, other functions) is rejected with a parse error
naming the construct, never silently rendered differently.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from .gotemplate_parse import (
    Action,
    Command,
    GoTemplateError,
    Operand,
    Pipe,
    Source,
    Text,
    go_quote,
    parse_nodes,
)

__all__ = ["MISSING", "GoStruct", "GoTemplateError", "Template", "parse", "render"]


@dataclass(frozen=True)
class GoStruct:
    """A Go struct value: ``type_name`` (as Go prints it, e.g.
    ``ingress.DomainTemplateValues``) and its exported fields in declaration order. Map
    fields are ``dict[str, str]`` (a nil map is ``{}``)."""

    type_name: str
    fields: Mapping[str, Any]


class _Missing:
    """Go's invalid ``reflect.Value``: what a missing map key evaluates to."""

    def __repr__(self) -> str:
        return "<no value>"


MISSING: Final = _Missing()


# ---------------------------------------------------------------------------------------------
# execution
# ---------------------------------------------------------------------------------------------


def _type_name(v: Any) -> str:
    if isinstance(v, GoStruct):
        return v.type_name
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int"
    if isinstance(v, str):
        return "string"
    if isinstance(v, dict):
        return "map[string]string"
    return "<nil>"


def _truth(v: Any) -> bool:
    if v is MISSING or v is None:
        return False
    if isinstance(v, GoStruct):
        return True
    return bool(v)


def _fmt(v: Any) -> str:
    """``fmt.Sprint`` of one value."""
    if v is MISSING:
        return "<no value>"
    if v is None:
        return "<nil>"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, dict):
        return "map[" + " ".join(f"{k}:{_fmt(v[k])}" for k in sorted(v)) + "]"
    if isinstance(v, GoStruct):
        return "{" + " ".join(_fmt(x) for x in v.fields.values()) + "}"
    return str(v)


def _sprint(args: Sequence[Any]) -> str:
    out: list[str] = []
    for i, a in enumerate(args):
        if i > 0 and not isinstance(a, str) and not isinstance(args[i - 1], str):
            out.append(" ")
        out.append(_fmt(a))
    return "".join(out)


def _sprintf(fmt: str, args: Sequence[Any]) -> str:
    out: list[str] = []
    n = 0
    i = 0
    while i < len(fmt):
        c = fmt[i]
        if c != "%" or i + 1 >= len(fmt):
            out.append(c)
            i += 1
            continue
        verb = fmt[i + 1]
        i += 2
        if verb == "%":
            out.append("%")
            continue
        if n >= len(args):
            out.append(f"%!{verb}(MISSING)")
            continue
        a = args[n]
        n += 1
        if verb in "sv":
            out.append(_fmt(a))
        elif verb == "d" and isinstance(a, int) and not isinstance(a, bool):
            out.append(str(a))
        elif verb == "q" and isinstance(a, str):
            out.append(go_quote(a))
        else:
            out.append(f"%!{verb}({_type_name(a)}={_fmt(a)})")
    if n < len(args):
        extra = ", ".join(f"{_type_name(a)}={_fmt(a)}" for a in args[n:])
        out.append(f"%!(EXTRA {extra})")
    return "".join(out)


class _ExecError(Exception):
    def __init__(self, pos: int, node: str, msg: str) -> None:
        self.pos, self.node, self.msg = pos, node, msg


_Lazy = Callable[[], Any]


def _basic(v: Any, op: Operand) -> Any:
    if v is MISSING or v is None or isinstance(v, dict | GoStruct):
        raise _ExecError(op.pos, op.text, "invalid type for comparison")
    return v


def _compare(name: str, a: Any, b: Any, op: Operand) -> bool:
    a, b = _basic(a, op), _basic(b, op)
    if type(a) is not type(b):
        raise _ExecError(op.pos, op.text, "incompatible types for comparison")
    if name == "eq":
        return bool(a == b)
    if name == "ne":
        return bool(a != b)
    if isinstance(a, bool):
        raise _ExecError(op.pos, op.text, "invalid type for comparison")
    return bool({"lt": a < b, "le": a <= b, "gt": a > b, "ge": a >= b}[name])


def _index(item: Any, keys: Sequence[Any], op: Operand) -> Any:
    if item is MISSING or item is None:
        raise _ExecError(op.pos, op.text, "error calling index: index of untyped nil")
    for key in keys:
        if isinstance(item, dict):
            if not isinstance(key, str):
                raise _ExecError(
                    op.pos, op.text,
                    f"error calling index: value has type {_type_name(key)}; should be string",
                )
            item = item.get(key, "")
        elif isinstance(item, str):
            if not isinstance(key, int) or isinstance(key, bool):
                raise _ExecError(op.pos, op.text, "error calling index: cannot index slice/array "
                                 f"with type {_type_name(key)}")
            if not 0 <= key < len(item.encode()):
                raise _ExecError(op.pos, op.text, f"error calling index: index out of range: {key}")
            item = item.encode()[key]
        else:
            raise _ExecError(op.pos, op.text,
                             f"error calling index: can't index item of type {_type_name(item)}")
    return item


class _Exec:
    def __init__(self, data: Any) -> None:
        self.root = data

    def walk(self, nodes: Sequence[Any], dot: Any, out: list[str]) -> None:
        for n in nodes:
            if isinstance(n, Text):
                out.append(n.text)
            elif isinstance(n, Action):
                out.append(_fmt(self.pipe(n.pipe, dot)))
            else:
                value = self.pipe(n.pipe, dot)
                if _truth(value):
                    self.walk(n.body, value if n.kind == "with" else dot, out)
                else:
                    self.walk(n.orelse, dot, out)

    def pipe(self, pipe: Pipe, dot: Any) -> Any:
        value: Any = _NOFINAL
        for cmd in pipe.cmds:
            value = self.command(cmd, dot, value)
        return value

    def command(self, cmd: Command, dot: Any, final: Any) -> Any:
        head = cmd.args[0]
        if head.kind == "ident":
            rest: list[_Lazy] = [self.lazy(a, dot) for a in cmd.args[1:]]
            if final is not _NOFINAL:
                rest.append(lambda: final)
            return self.call(head, rest, Operand("cmd", None, cmd.pos, cmd.text))
        if len(cmd.args) > 1 or final is not _NOFINAL:
            msg = f"can't give argument to non-function {head.text}"
            raise _ExecError(head.pos, head.text, msg)
        return self.operand(head, dot)

    def lazy(self, op: Operand, dot: Any) -> _Lazy:
        return lambda: self.operand(op, dot)

    def operand(self, op: Operand, dot: Any) -> Any:
        if op.kind == "field":
            return self.fields(dot, op.value, op)
        if op.kind == "var":
            return self.fields(self.root, op.value, op)
        if op.kind == "dot":
            return dot
        if op.kind == "pipe":
            return self.pipe(op.value, dot)
        if op.kind == "ident":
            return self.call(op, [], op)
        if op.kind == "nil":
            raise _ExecError(op.pos, op.text, "nil is not a command")
        return op.value

    def fields(self, receiver: Any, names: Sequence[str], op: Operand) -> Any:
        for name in names:
            if receiver is MISSING or receiver is None:
                return MISSING
            if isinstance(receiver, GoStruct):
                if name not in receiver.fields:
                    raise _ExecError(op.pos, op.text,
                                     f"can't evaluate field {name} in type {receiver.type_name}")
                receiver = receiver.fields[name]
            elif isinstance(receiver, dict):
                receiver = receiver.get(name, MISSING)
            else:
                raise _ExecError(op.pos, op.text,
                                 f"can't evaluate field {name} in type {_type_name(receiver)}")
        return receiver

    def call(self, fn: Operand, args: list[_Lazy], ctx: Operand) -> Any:
        name = fn.value

        def want(n: int) -> None:
            if len(args) != n:
                raise _ExecError(ctx.pos, ctx.text,
                                 f"wrong number of args for {name}: want {n} got {len(args)}")

        if name == "and" or name == "or":
            if not args:
                raise _ExecError(ctx.pos, ctx.text,
                                 f"wrong number of args for {name}: want at least 1 got 0")
            value: Any = None
            for a in args:
                value = a()
                if _truth(value) != (name == "and"):
                    return value
            return value
        if name == "not":
            want(1)
            return not _truth(args[0]())
        if name == "len":
            want(1)
            v = args[0]()
            if isinstance(v, str):
                return len(v.encode())
            if isinstance(v, dict):
                return len(v)
            raise _ExecError(ctx.pos, ctx.text, f"error calling len: len of type {_type_name(v)}")
        if name == "index":
            if not args:
                raise _ExecError(ctx.pos, ctx.text,
                                 "wrong number of args for index: want at least 1 got 0")
            vals = [a() for a in args]
            return _index(vals[0], vals[1:], ctx)
        if name in ("eq", "ne", "lt", "le", "gt", "ge"):
            if name == "eq":
                if len(args) < 2:
                    raise _ExecError(ctx.pos, ctx.text, "missing argument for comparison")
                first = args[0]()
                return any(_compare("eq", first, a(), ctx) for a in args[1:])
            want(2)
            return _compare(name, args[0](), args[1](), ctx)
        vals = [a() for a in args]
        if name == "print":
            return _sprint(vals)
        if name == "println":
            return " ".join(_fmt(v) for v in vals) + "\n"
        # printf
        if not vals or not isinstance(vals[0], str):
            raise _ExecError(ctx.pos, ctx.text, "wrong type for value; expected string")
        return _sprintf(vals[0], vals[1:])


_NOFINAL: Final = object()


@dataclass(frozen=True)
class Template:
    """A parsed template; :meth:`execute` renders it (immutable, cached by :func:`parse`)."""

    name: str
    text: str
    _root: tuple[Any, ...]

    def execute(self, data: Any) -> str:
        """Render with ``data`` as dot. Raises :class:`GoTemplateError` with Go's text."""
        out: list[str] = []
        try:
            _Exec(data).walk(self._root, data, out)
        except _ExecError as e:
            loc = Source(self.name, self.text).location(e.pos)
            raise GoTemplateError(
                f"template: {loc}: executing {go_quote(self.name)} at <{e.node}>: {e.msg}"
            ) from None
        return "".join(out)


@lru_cache(maxsize=256)
def parse(name: str, text: str) -> Template:
    """``template.New(name).Parse(text)``. Raises :class:`GoTemplateError`."""
    return Template(name, text, tuple(parse_nodes(name, text)))


def render(name: str, text: str, data: Any) -> str:
    """Parse (cached) and execute."""
    return parse(name, text).execute(data)
