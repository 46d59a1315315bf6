"""The text form of objectives, as the command line takes them.

Grammar (usual precedence, parentheses allowed)::

    block8:12                 channel 12 of block8 (its mean activation)
    block8:12@3,4             channel 12 at position x=3, y=4 (neuron)
    block8                    the layer's DeepDream objective (sum of squares)
    logits:65                 the logit of class 65
    prob(65)                  the softmax probability of class 65
    neuron(block8,12)         channel 12 at the centre (also written block8:12@c)
    channel(L,N) layer(L) logit(K) diversity(L)
    group(block8,1,5,9)       the sum of several channels (a neuron group)
    all_tokens(blocks.7,5)    feature 5 of a token layer over all tokens, class tokens included
    channel_interpolate(block8,1,block8,5)   over N seeds, a picture turning from one unit into another
    alignment(L) alignment(L,2)              keeps neighbouring pictures of a batch alike
    l1() tv() blur()          penalties on the image (or l1(L) on a layer), to subtract
    block8:12 - 0.5*block8:40 + 1e-2*diversity(block8)
    block8:12 - 0.05*l1() - 2*tv()
"""
from __future__ import annotations

import re
from typing import Callable, NoReturn

from convscope.engine import objectives as obj
from convscope.engine.objectives import Objective
from convscope.errors import ObjectiveSyntaxError, OutOfRangeError

_TOKEN = re.compile(r"\s*(?:(?P<number>\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+(?:[eE][-+]?\d+)?)"
                    r"|(?P<name>[A-Za-z_][\w.]*)|(?P<op>[-+*/():@,]))")

_FUNCTIONS: dict[str, tuple[Callable[..., Objective], str]] = {
    "channel": (obj.channel, "LN"),
    "neuron": (obj.neuron, "LNnn"),
    "layer": (obj.layer, "L"),
    "logit": (obj.class_logit, "N"),
    "prob": (obj.class_prob, "N"),
    "diversity": (obj.diversity, "L"),
    "group": (obj.group, "L+"),
    "all_tokens": (obj.all_tokens, "LN"),
    "channel_interpolate": (obj.channel_interpolate, "LNLN"),
    "alignment": (obj.alignment, "Lf"),
    "l1": (obj.l1, "l"),
    "tv": (obj.total_variation, "l"),
    "total_variation": (obj.total_variation, "l"),
    "blur": (obj.blur, "l"),
}
"""Each function's arguments: L a layer, N a whole number, f a number; lower case: optional;
+ after N or L: one or more whole numbers."""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        pos = 0
        while pos < len(text):
            if text[pos:].strip() == "":
                break
            m = _TOKEN.match(text, pos)
            if not m:
                self.fail(pos + len(text[pos:]) - len(text[pos:].lstrip()), "unexpected character")
            kind = m.lastgroup or ""
            self.tokens.append((kind, m.group(kind), m.start(kind)))
            pos = m.end()
        self.i = 0

    def fail(self, pos: int, what: str) -> NoReturn:
        rest = self.text[pos:pos + 12] or "end of text"
        raise ObjectiveSyntaxError(f"cannot parse objective {self.text!r} at column {pos + 1} "
                                   f"({rest!r}): {what}")

    def peek(self, offset: int = 0) -> tuple[str, str, int]:
        j = self.i + offset
        return self.tokens[j] if j < len(self.tokens) else ("end", "", len(self.text))

    def take(self, value: str | None = None, kind: str | None = None) -> str:
        k, v, pos = self.peek()
        if (value is not None and v != value) or (kind is not None and k != kind):
            self.fail(pos, f"expected {value or kind}")
        self.i += 1
        return v

    def integer(self) -> int:
        k, v, pos = self.peek()
        if k != "number" or not v.isdigit():
            self.fail(pos, "expected a whole number")
        self.i += 1
        return int(v)

    def parse(self) -> Objective | float:
        if not self.tokens:
            raise ObjectiveSyntaxError("empty objective: give a unit such as block8:12")
        result = self.expr()
        k, _v, pos = self.peek()
        if k != "end":
            self.fail(pos, "expected an operator (+ - * /) or the end")
        return result

    def expr(self) -> Objective | float:
        left = self.term()
        while self.peek()[1] in ("+", "-"):
            op = self.take()
            right = self.term()
            left = _apply(left, op, right)
        return left

    def term(self) -> Objective | float:
        left = self.unary()
        while self.peek()[1] in ("*", "/"):
            op = self.take()
            right = self.unary()
            left = _apply(left, op, right)
        return left

    def unary(self) -> Objective | float:
        if self.peek()[1] == "-":
            self.take()
            return -self.unary()
        if self.peek()[1] == "+":
            self.take()
            return self.unary()
        return self.primary()

    def primary(self) -> Objective | float:
        kind, value, pos = self.peek()
        if value == "(":
            self.take()
            inner = self.expr()
            self.take(")")
            return inner
        if kind == "number" and self.peek(1)[1] != ":":
            self.take()
            return float(value)
        if kind == "name" and value in _FUNCTIONS and self.peek(1)[1] == "(":
            return self.function()
        if kind in ("name", "number"):
            return self.unit()
        self.fail(pos, "expected a unit (layer:channel), a number or '('")
        raise AssertionError  # fail() raised

    def function(self) -> Objective:
        name = self.take()
        fn, signature = _FUNCTIONS[name]
        self.take("(")
        args: list[object] = []
        for i, code in enumerate(signature):
            if self.peek()[1] == ")" and code.islower():
                break
            if i:
                self.take(",")
            if code in "Ll":
                args.append(self.take(kind=self.peek()[0] if self.peek()[0] in ("name", "number") else "name"))
            elif code == "f":
                args.append(float(self.take(kind="number")))
            elif code == "+":
                args.append(self.integer())
                while self.peek()[1] == ",":
                    self.take(",")
                    args.append(self.integer())
            else:
                args.append(self.integer())
        self.take(")")
        return fn(*args)

    def unit(self) -> Objective:
        name = self.take()
        if self.peek()[1] != ":":
            return obj.layer(name)
        self.take(":")
        n = self.integer()
        if self.peek()[1] == "@":
            self.take("@")
            if self.peek()[1] == "c":
                self.take("c")
                return obj.neuron(name, n)
            x = self.integer()
            self.take(",")
            y = self.integer()
            return obj.neuron(name, n, x, y)
        return obj.channel(name, n)


def _apply(left: Objective | float, op: str, right: Objective | float) -> Objective | float:
    if op == "+":
        return left + right
    if op == "-":
        return left - right
    if op == "*":
        return left * right
    return left / right


def parse_objective(text: str) -> Objective:
    """The objective written as text (the grammar is in this module's docstring), such as
    "block8:12", "block8:12@c" or "logits:18 - 0.5*block8:3 + 300*tv()".

    Args:
        text: the objective's text.
    Returns:
        The Objective; ``str()`` of it parses back to the same objective.
    Raises:
        ObjectiveSyntaxError: text that does not parse, with where and what was expected.
    """
    result = _Parser(text).parse()
    if not isinstance(result, Objective):
        raise ObjectiveSyntaxError(f"objective {text!r} is only a number: name a unit such as block8:12")
    return result


def as_objective(objective: "Objective | str") -> Objective:
    """An Objective from itself or from its text (see ``convscope.engine.objective_text``)."""
    if isinstance(objective, Objective):
        return objective
    if isinstance(objective, str):
        return parse_objective(objective)
    raise OutOfRangeError(f"an objective is text such as 'block8:12' or an Objective, got {type(objective).__name__}")
