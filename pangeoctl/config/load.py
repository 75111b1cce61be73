"""Reading ``pangeo.yaml``: bytes → YAML document with positions → :class:`Config`, every problem at its line.

Loading is two passes. Pydantic checks each field (types, units, unknown keys); then the cross-field
checks look across fields. Both report :class:`Problem` objects whose ``path`` is mapped back to a line of
the file with ruamel.yaml, so every message reads ``pangeo.yaml:12 hub.auth.admins: … — fix``.

Bad input is refused before it can hurt: files over :data:`MAX_BYTES` or :data:`MAX_ITEMS` lines and
list items, text that is not UTF-8 or holds control characters, nesting deeper than :data:`MAX_DEPTH`, and
documents whose YAML aliases expand to more than :data:`MAX_VALUES` values (a "billion laughs" file is a
few hundred bytes) are each one line naming where; nothing else in the file is read.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, get_args

from pydantic import BaseModel, ValidationError

from pangeoctl.config.checks import check
from pangeoctl.config.errors import ConfigError, Problem, is_secret_path, quote
from pangeoctl.config.model import Config
from pangeoctl.machines import Machine

MAX_BYTES = 64 * 1024  # a full pangeo.yaml is ~2 KB; the shipped examples are under 3 KB
MAX_ITEMS = 2_000  # lines + list items: the YAML parser takes ~0.1 ms each, so this bounds parsing to ~0.2 s
MAX_DEPTH = 40  # the model nests 5 deep; YAML's composer recurses per level
MAX_VALUES = 20_000  # scalars + sections + lists after aliases are expanded

# Pydantic's type errors in the words of a YAML file, with what to write instead.
_TYPE_WORDS = {
    "int_parsing": "a whole number",
    "int_type": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "float_type": "a number",
    "finite_number": "a finite number",
    "bool_parsing": "true or false",
    "bool_type": "true or false",
    "string_type": "text (quote it if YAML reads it as something else)",
    "list_type": "a list, one `- item` per line or `[a, b]`",
    "dict_type": "a section: its fields indented under it",
    "model_type": "a section: its fields indented under it",
    "model_attributes_type": "a section: its fields indented under it",
}


# ---------------------------------------------------------------- positions


def _line_of(doc: Any, path: tuple[Any, ...]) -> int | None:
    """Line (1-based) of the deepest node of ``path`` present in the ruamel document."""
    line, node = None, doc
    for key in path:
        lc = getattr(node, "lc", None)
        if isinstance(node, dict) and key in node:
            if lc is not None:
                line = lc.key(key)[0] + 1
            node = node[key]
        elif isinstance(node, list) and isinstance(key, int) and key < len(node):
            if lc is not None:
                line = lc.item(key)[0] + 1
            node = node[key]
        # keys absent from the file (a missing field) leave the line at the parent
    return line


def _doc_path(doc: Any, loc: tuple[Any, ...]) -> tuple[str | int, ...]:
    """Pydantic's ``loc`` as a path in the document: the keys and indexes that exist there, plus a missing last key.

    Pydantic adds labels of its own to ``loc`` (a union member's tag, a validator's name); they are no key of
    the file, so walking the document drops them without our knowing their spelling.
    """
    out: list[str | int] = []
    node = doc
    for i, key in enumerate(loc):
        if isinstance(node, dict) and key in node or isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            out.append(key)
            node = node[key]
        elif i == len(loc) - 1 and isinstance(key, str) and isinstance(node, dict) and re.fullmatch(r"[a-z_][a-z0-9_]*", key):
            out.append(key)  # a required field that is absent
    return tuple(out)


def _model_at(doc: Any, path: tuple[Any, ...]) -> type[BaseModel] | None:
    """The pydantic model that holds the last key of ``path``, for 'did you mean' hints and examples."""
    model: type[BaseModel] | None = Config
    node = doc
    for key in path[:-1]:
        if isinstance(node, dict):
            node = node.get(key)
        elif isinstance(node, list) and isinstance(key, int) and 0 <= key < len(node):
            node = node[key]
        if isinstance(key, int):
            continue
        field = model.model_fields.get(str(key)) if model else None
        if field is None:
            return None
        members = [a for a in _flatten(field.annotation) if isinstance(a, type) and issubclass(a, BaseModel)]
        if len(members) > 1:  # a tagged union (auth): the member its `type:` names
            tag = node.get("type") if isinstance(node, dict) else None
            members = [m for m in members if "type" in m.model_fields and tag in get_args(m.model_fields["type"].annotation)]
        model = members[0] if len(members) == 1 else None
    return model


def _flatten(ann: Any) -> list[Any]:
    args = get_args(ann)
    if not args:
        return [ann]
    return [x for a in args for x in _flatten(a)]


def _example(doc: Any, path: tuple[Any, ...]) -> str:
    """`` — e.g. `port: 8000` `` from the field's default, when it has a plain one."""
    if not path or isinstance(path[-1], int):
        return ""
    model = _model_at(doc, path)
    field = model.model_fields.get(str(path[-1])) if model else None
    default = None if field is None else field.default
    if isinstance(default, bool):
        return f" — e.g. `{path[-1]}: {str(default).lower()}`"
    if isinstance(default, int | float | str) and default != "":
        return f" — e.g. `{path[-1]}: {default}`"
    return ""


def _pydantic_problem(doc: Any, err: dict[str, Any]) -> Problem:
    path = _doc_path(doc, tuple(err["loc"]))
    kind, msg = err["type"], err["msg"]
    # Never quote what sits under a secret-shaped key, whatever its type or the error.
    got = "" if is_secret_path(path) else f" (got {quote(err.get('input'))})"
    if kind == "missing":
        message = f"required — add `{path[-1]}:`"
    elif kind == "extra_forbidden":
        model = _model_at(doc, path)
        known = sorted(model.model_fields) if model else []
        close = difflib.get_close_matches(str(path[-1]), known, n=1)
        hint = f"did you mean `{close[0]}`?" if close else f"known fields: {', '.join(known)}" if known else "remove it"
        message = f"unknown field — {hint}"
    elif kind in ("union_tag_invalid", "union_tag_not_found"):
        message = "`type:` must be `github` or `shared-password`"
        path = path + ("type",) if kind == "union_tag_invalid" and path[-1:] != ("type",) else path
    elif kind == "string_pattern_mismatch" and path == ("name",):
        message = f"not a valid name — use lowercase letters, digits and dashes, starting with a letter (e.g. my-lab){got}"
    elif kind == "literal_error":
        message = f"{msg.replace('Input should be', 'must be')}{got}"
    elif kind in _TYPE_WORDS:
        message = f"must be {_TYPE_WORDS[kind]}{_example(doc, path)}{got}"
    else:
        message = msg.removeprefix("Value error, ").replace("Input should be", "must be")
        if (
            kind == "value_error"
            or kind.startswith(("int_", "float_", "string_", "bool_"))
            or kind in ("greater_than", "greater_than_equal", "less_than_equal")
        ):
            message = f"{message}{got}"
    return Problem(path, message)


# ---------------------------------------------------------------- refusing what cannot be a pangeo.yaml


def _decode(filename: str, data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ConfigError(
            filename,
            [Problem((), f"is {len(data):,} bytes; a pangeo.yaml is a few KB (limit {MAX_BYTES // 1024} KB) — is this the right file?", 1)],
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        col = e.start - (data.rfind(b"\n", 0, e.start) + 1) + 1
        raise ConfigError(
            filename, [Problem((), f"not UTF-8 text (byte 0x{data[e.start]:02X} at column {col}) — save the file as UTF-8", line)]
        ) from None
    bad = re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff\ufffe\uffff]", text.removeprefix("\ufeff"))
    if bad:
        start = bad.start() + (1 if text.startswith("\ufeff") else 0)
        line = text.count("\n", 0, start) + 1
        raise ConfigError(
            filename, [Problem((), f"control character U+{ord(bad.group()):04X} in the text — a YAML file holds printable text only", line)]
        )
    return text


def _too_deep(text: str) -> int | None:
    """Line where flow brackets or block indentation nest deeper than :data:`MAX_DEPTH`, if anywhere."""
    depth, line, quote_char, comment = 0, 1, "", False
    for ch in text:
        if ch == "\n":
            line, comment = line + 1, False
        elif comment:
            continue
        elif quote_char:
            if ch == quote_char:
                quote_char = ""
        elif ch in "\"'":
            quote_char = ch
        elif ch == "#":
            comment = True
        elif ch in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif ch in "]}":
            depth = max(0, depth - 1)
    for n, row in enumerate(text.splitlines(), 1):
        stripped = row.lstrip(" -")
        if stripped and not stripped.startswith("#") and (len(row) - len(stripped)) > 2 * MAX_DEPTH:
            return n
    return None


def _expanded_size(doc: Any, budget: int) -> tuple[int, tuple[Any, ...]]:
    """Values in ``doc`` with aliases expanded (stops counting past ``budget``), and the key path where it blew up."""
    memo: dict[int, int] = {}

    def size(node: Any) -> int:
        if not isinstance(node, dict | list):
            return 1
        if id(node) in memo:
            return memo[id(node)]
        memo[id(node)] = budget + 1  # a node that contains itself (a recursive alias) is over any budget
        total = 1
        for child in node.values() if isinstance(node, dict) else node:
            total += size(child)
            if total > budget:
                break
        memo[id(node)] = min(total, budget + 1)
        return memo[id(node)]

    total = size(doc)
    path: tuple[Any, ...] = ()
    node = doc
    while isinstance(node, dict | list) and total > budget:
        items = list(node.items()) if isinstance(node, dict) else list(enumerate(node))
        key, child = max(items, key=lambda kv: size(kv[1]), default=(None, None))
        if key is None or size(child) <= budget // 2:
            break
        path, node = path + (key,), child
    return total, path


def _parse(filename: str, text: str) -> Any:
    from ruamel.yaml import YAML
    from ruamel.yaml.constructor import DuplicateKeyError
    from ruamel.yaml.error import MarkedYAMLError, YAMLError

    items = 0
    for n, row in enumerate(text.splitlines(), 1):
        items += 1 + row.count(",")
        if items > MAX_ITEMS:
            raise ConfigError(
                filename,
                [Problem((), f"more than {MAX_ITEMS:,} lines and list items by here; a pangeo.yaml has about 50 — is this the right file?", n)],
            )
    deep = _too_deep(text)
    if deep is not None:
        raise ConfigError(filename, [Problem((), f"nested more than {MAX_DEPTH} levels deep — a pangeo.yaml nests about 5", deep)])
    try:
        return YAML(typ="rt").load(text)
    except DuplicateKeyError as e:
        # ruamel's text quotes both values; a duplicated `client_secret` must not print either.
        key = re.search(r'duplicate key "(.*?)" with value', str(e.problem or ""), re.DOTALL)
        name = f"`{key.group(1)[:40]}`" if key else "a key"
        first = f" (first at line {e.context_mark.line + 1})" if e.context_mark else ""
        line = e.problem_mark.line + 1 if e.problem_mark else None
        raise ConfigError(filename, [Problem((), f"not valid YAML: {name} is written twice in one section{first} — keep one", line)]) from None
    except MarkedYAMLError as e:
        problem = str(e.problem or e.context or "")
        # An unclosed quote or bracket is found at the end of the file; where it opened is the useful line.
        opened = e.context_mark is not None and ("end of stream" in problem or "quoted scalar" in str(e.context or ""))
        mark = e.context_mark if opened else (e.problem_mark or e.context_mark)
        line = mark.line + 1 if mark else None
        if opened and "quoted scalar" in str(e.context or ""):
            message = "not valid YAML: this quoted text is never closed — add the closing quote"
        elif opened:
            message = f"not valid YAML: {e.context or problem}, never closed — close it"
        else:
            message = f"not valid YAML: {problem[:120]}"
        raise ConfigError(filename, [Problem((), message, line)]) from None
    except YAMLError as e:  # reader errors and the like, without a mark
        raise ConfigError(filename, [Problem((), f"not valid YAML: {str(e).splitlines()[0][:120]}", 1)]) from None
    except RecursionError:
        raise ConfigError(filename, [Problem((), f"nested too deeply — a pangeo.yaml nests about 5 levels (limit {MAX_DEPTH})", 1)]) from None


# ---------------------------------------------------------------- loading


def load(path: Path | str, *, text: str | None = None) -> Config:
    """Read and validate a pangeo.yaml. Warnings are returned by :func:`load_with_warnings`.

    Raises
    ------
    ConfigError
        With every problem found, each located at its line.
    """
    return load_with_warnings(path, text=text)[0]


def load_with_warnings(
    path: Path | str,
    *,
    text: str | None = None,
    cloud: str | None = None,
    more_checks: Callable[[Config], list[Problem]] | None = None,
    host: Machine | None = None,
) -> tuple[Config, list[Problem]]:
    """Load, validate and return ``(config, warnings)``.

    ``cloud`` overrides the file's ``cloud:`` before validation, so every check sees the cloud that will be
    used. ``more_checks`` adds checks that live outside this package (costs); their problems get lines too.
    ``host`` is this computer as the caller's Site sees it (kind's node); default: read here when needed.
    """
    filename = str(path)
    if text is None:
        try:
            with open(path, "rb") as f:
                data = f.read(MAX_BYTES + 1)
        except FileNotFoundError:
            raise ConfigError(filename, [Problem((), "file not found — create one with `pangeoctl init --cloud local` (or pass -c PATH)")]) from None
        except IsADirectoryError:
            raise ConfigError(filename, [Problem((), "is a directory — pass the pangeo.yaml inside it with -c")]) from None
        except OSError as e:
            raise ConfigError(filename, [Problem((), f"cannot read: {e.strerror}")]) from None
        text = _decode(filename, data)
    else:
        text = _decode(filename, text.encode("utf-8", "surrogatepass"))
    doc = _parse(filename, text)
    if doc is None:
        doc = {}
    if not isinstance(doc, dict):
        raise ConfigError(filename, [Problem((), "must be a mapping of fields (name:, cloud:, hub:, …)", 1)])
    try:
        return _validate(filename, doc, cloud, more_checks, host)
    except RecursionError:  # aliases can nest without indentation: `b: &b [*a]`, `c: &c [*b]`, …
        raise ConfigError(filename, [Problem((), f"nested too deeply — a pangeo.yaml nests about 5 levels (limit {MAX_DEPTH})", 1)]) from None


def _validate(
    filename: str, doc: Any, cloud: str | None, more_checks: Callable[[Config], list[Problem]] | None, host: Machine | None
) -> tuple[Config, list[Problem]]:
    total, where = _expanded_size(doc, MAX_VALUES)
    if total > MAX_VALUES:
        raise ConfigError(
            filename,
            [
                Problem(
                    tuple(where),
                    f"expands to more than {MAX_VALUES:,} values (YAML aliases `*name` repeat what they point at) — write the values out",
                    _line_of(doc, where) or 1,
                )
            ],
        )
    if cloud is not None:
        doc["cloud"] = cloud
    try:
        cfg = Config.model_validate(doc)
    except ValidationError as e:
        problems = []
        for err in e.errors(include_url=False):
            p = _pydantic_problem(doc, dict(err))
            problems.append(Problem(p.path, p.message, _line_of(doc, p.path) or 1))  # a missing top-level field: the file's start
        raise ConfigError(filename, problems) from None
    # A cross-field problem about a field the file leaves to its default is where the cloud was chosen.
    found = [
        Problem(p.path, p.message, _line_of(doc, p.path) or _line_of(doc, ("cloud",)), p.severity)
        for p in check(cfg, host=host) + (more_checks(cfg) if more_checks else [])
    ]
    errors = [p for p in found if p.severity == "error"]
    if errors:
        raise ConfigError(filename, errors)
    return cfg, [p for p in found if p.severity == "warning"]
