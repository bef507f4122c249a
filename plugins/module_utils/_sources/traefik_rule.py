# Copyright: ddi.kea_dns contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""PRIVATE to the collection: Traefik's rule language (the ``match`` of an IngressRoute's routes) parsed into its
matchers. A real tokenizer and a recursive-descent parser: ``Host(`a`, `b`)``, backtick and double-quoted arguments,
``||``, ``&&``, parentheses and ``!``; each matcher is marked when it lies under a negation. No Ansible, no
Kubernetes client; ``route_hosts.py`` decides which matchers name hosts."""

from __future__ import annotations

import re
import typing as t
from dataclasses import dataclass

TOKEN_RE = re.compile(r'(?:(?P<op>&&|\|\||[(),!])|`(?P<raw>[^`]*)`|"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<name>[A-Za-z_][A-Za-z0-9_]*))\s*')
MAX_NESTING = 50  # '(' and '!' deep: a rule from any user of the cluster must not exhaust the interpreter's stack


class RuleError(ValueError):
    """A Traefik rule that cannot be parsed."""


@dataclass(frozen=True)
class Matcher:
    name: str  # as written
    args: tuple[str, ...]
    negated: bool  # under a '!'


def _tokens(text: str) -> list[tuple[str, str, int]]:
    """(kind, value, 1-based position), kinds ( ) , ! && || name string, then one 'end'. Strings are in backticks
    (raw) or double quotes (a backslash escapes the next character)."""
    tokens: list[tuple[str, str, int]] = []
    index = len(text) - len(text.lstrip())
    while index < len(text):
        match = TOKEN_RE.match(text, index)
        if match is None:
            if text[index] in '`"':
                raise RuleError(f"unbalanced quotes: the {text[index]} at character {index + 1} is not closed")
            raise RuleError(f"unexpected {text[index]!r} at character {index + 1}")
        kind = t.cast(str, match.lastgroup)
        value = match.group(kind)
        if kind == "quoted":
            value = re.sub(r"\\(.)", r"\1", value)
        tokens.append((value if kind == "op" else kind if kind == "name" else "string", value, index + 1))
        index = match.end()
    tokens.append(("end", "", len(text) + 1))
    return tokens


class _Parser:
    """Recursive descent over the tokens: or := and ('||' and)*; and := unary ('&&' unary)*;
    unary := '!' unary | '(' or ')' | name '(' [string (',' string)*] ')'."""

    def __init__(self, text: str) -> None:
        self.tokens = _tokens(text)
        self.position = 0
        self.depth = 0
        self.matchers: list[Matcher] = []

    def parse(self) -> list[Matcher]:
        if self.peek()[0] == "end":
            raise RuleError("empty rule")
        self.expression(False)
        kind, value, where = self.peek()
        if kind == ")":
            raise RuleError(f"unbalanced parentheses: the ')' at character {where} has no '('")
        if kind != "end":
            raise RuleError(f"unexpected {value!r} at character {where} (expected && or ||)")
        return self.matchers

    def peek(self) -> tuple[str, str, int]:
        return self.tokens[self.position]

    def take(self) -> tuple[str, str, int]:
        token = self.tokens[self.position]
        self.position += 1
        return token

    def expression(self, negated: bool) -> None:
        self.conjunction(negated)
        while self.peek()[0] == "||":
            self.take()
            self.conjunction(negated)

    def conjunction(self, negated: bool) -> None:
        self.unary(negated)
        while self.peek()[0] == "&&":
            self.take()
            self.unary(negated)

    def unary(self, negated: bool) -> None:
        kind, value, where = self.take()
        if kind in ("!", "(") and self.depth >= MAX_NESTING:
            raise RuleError(f"nested more than {MAX_NESTING} deep at character {where}")
        if kind == "!":
            self.depth += 1
            self.unary(True)
            self.depth -= 1
        elif kind == "(":
            self.depth += 1
            self.expression(negated)
            self.close(where)
            self.depth -= 1
        elif kind == "name":
            paren = self.take()
            if paren[0] != "(":
                raise RuleError(f"expected '(' after {value} at character {paren[2]}")
            args = []
            if self.peek()[0] != ")":
                args.append(self.argument(value))
                while self.peek()[0] == ",":
                    self.take()
                    args.append(self.argument(value))
            self.close(paren[2])
            self.matchers.append(Matcher(value, tuple(args), negated))
        elif kind == "end":
            raise RuleError("unexpected end of the rule (expected a matcher)")
        else:
            raise RuleError(f"unexpected {value!r} at character {where} (expected a matcher)")

    def argument(self, matcher: str) -> str:
        kind, value, where = self.take()
        if kind != "string":
            raise RuleError(f"unexpected {value or 'end'!r} at character {where} (the arguments of {matcher} are quoted strings)")
        return value

    def close(self, opened: int) -> None:
        kind, value, where = self.take()
        if kind == "end":
            raise RuleError(f"unbalanced parentheses: the '(' at character {opened} is not closed")
        if kind != ")":
            raise RuleError(f"unexpected {value!r} at character {where} (expected ')')")


def parse_rule(text: str) -> list[Matcher]:
    """Every matcher of a Traefik rule, in order, marked when under a negation. RuleError when it cannot be parsed."""
    return _Parser(text).parse()
