"""A command line of the plain kind read without argparse (start-up time, issue 20).

``import argparse`` brings in :mod:`gettext` and :mod:`locale`, and building a command's parser
compiles regular expressions and looks for message catalogues once per sub-parser: together
about half as long as Python takes to start. Most command lines are plain: the command, its
positional arguments, and options spelt in full, each ``--name value`` or a ``--flag``. A command
module's ``add_parsers`` records its arguments in a :class:`Commands` (the few calls of
argparse's API the commands use), and :func:`parse` reads such a line into the namespace argparse
would return. Anything else - ``--help``, an abbreviated or unknown option, ``--name=value``,
``--``, a value that starts with ``-``, a value argparse would reject (type, choices, a missing
required option, two options of one exclusive group), an argparse feature not recorded here - is
left to argparse (``None``), which then parses the line, prints its help or names the error
exactly as before.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up time)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["Arguments", "Commands", "Unsupported", "parse"]

#: the argparse actions read here, and the keywords of ``add_argument`` understood
_ACTIONS = ("store", "store_true")
_KEYWORDS = frozenset(
    ("action", "type", "choices", "default", "required", "dest", "help", "metavar")
)
#: the value types read here (argparse calls any other; it may do more than convert)
_TYPES = (None, str, int, float)


class Arguments:
    """The parsed arguments, as attributes (what :class:`argparse.Namespace` holds; the
    :mod:`types` module's ``SimpleNamespace`` would be one more import)."""

    def __init__(self, **values: object) -> None:
        self.__dict__.update(values)

    def __repr__(self) -> str:
        return f"Arguments({', '.join(f'{k}={v!r}' for k, v in vars(self).items())})"


class Unsupported(Exception):
    """A command registers something this reader does not read: argparse parses its lines."""


class _Argument:
    """One argument as ``add_argument`` declared it."""

    def __init__(self, flags: tuple[str, ...], kwargs: dict[str, Any], group: int | None) -> None:
        if set(kwargs) - _KEYWORDS or kwargs.get("action", "store") not in _ACTIONS:
            raise Unsupported(flags)
        if kwargs.get("type") not in _TYPES:
            raise Unsupported(flags)
        self.flag = kwargs.get("action") == "store_true"
        self.convert = kwargs.get("type") or str
        self.choices = kwargs.get("choices")
        self.required = bool(kwargs.get("required", False))
        self.group = group
        self.positional = not flags[0].startswith("-")
        if self.positional:
            if len(flags) != 1 or "dest" in kwargs or "required" in kwargs:
                raise Unsupported(flags)
            self.dest = flags[0]
        else:
            longs = [f for f in flags if f.startswith("--")] or list(flags)
            self.dest = kwargs.get("dest") or longs[0].lstrip("-").replace("-", "_")
        self.default = kwargs.get("default", False if self.flag else None)
        self.flags = flags

    def default_value(self, default: object) -> object:
        """``default`` as argparse leaves it when the argument is not given: a string
        converted by the argument's type."""
        return self.convert(default) if isinstance(default, str) and not self.flag else default

    def value(self, text: str) -> object:
        """``text`` converted; ``ValueError`` when argparse would refuse it."""
        if text.startswith("-") and text != "-":
            raise ValueError(text)  # argparse may read it as an option or a negative number
        value = self.convert(text)
        if self.choices is not None and value not in self.choices:
            raise ValueError(text)
        return value


class _Command:
    """The arguments and defaults one sub-command records (``sub.add_parser(...)``)."""

    def __init__(self) -> None:
        self.arguments: list[_Argument] = []
        self.defaults: dict[str, object] = {}
        self.groups: list[bool] = []  # one ``required`` per mutually exclusive group
        self._group: int | None = None

    def add_argument(self, *flags: str, **kwargs: Any) -> None:
        self.arguments.append(_Argument(flags, kwargs, self._group))

    def add_mutually_exclusive_group(self, required: bool = False) -> _Group:
        self.groups.append(required)
        return _Group(self, len(self.groups) - 1)

    def set_defaults(self, **kwargs: object) -> None:
        self.defaults.update(kwargs)

    def add_subparsers(self, **kwargs: object) -> None:
        raise Unsupported("sub-commands")

    def add_argument_group(self, *args: object, **kwargs: object) -> None:
        raise Unsupported("argument groups")


class _Group:
    """A mutually exclusive group of a :class:`_Command`."""

    def __init__(self, command: _Command, index: int) -> None:
        self._command, self._index = command, index

    def add_argument(self, *flags: str, **kwargs: Any) -> None:
        self._command.arguments.append(_Argument(flags, kwargs, self._index))


class Commands:
    """What ``add_parsers(sub)`` registers, recorded in place of argparse's sub-parsers."""

    def __init__(self) -> None:
        self.commands: dict[str, _Command] = {}

    def add_parser(self, name: str, **kwargs: object) -> _Command:
        if set(kwargs) - {"help", "description"}:
            raise Unsupported(name)  # aliases, a parser class, parents...
        self.commands[name] = command = _Command()
        return command


def _with_pretty(command: _Command) -> list[_Argument]:
    """The command's arguments, with ``--pretty`` where it has ``--json`` (as
    :func:`ivig.cli._parser.add_pretty` adds it to argparse's)."""
    flags = {f for argument in command.arguments for f in argument.flags}
    if "--json" in flags and "--pretty" not in flags:
        return [*command.arguments, _Argument(("--pretty",), {"action": "store_true"}, None)]
    return command.arguments


def parse(commands: Commands, argv: list[str]) -> Arguments | None:
    """The namespace argparse gives for ``argv`` (``[command, *arguments]``), or ``None`` when
    the line is not a plain one of a recorded command."""
    command = commands.commands.get(argv[0]) if argv else None
    if command is None or "func" not in command.defaults:
        return None
    arguments = _with_pretty(command)
    options = {f: a for a in arguments if not a.positional for f in a.flags}
    positionals = [a for a in arguments if a.positional]
    values: dict[str, object] = {}
    given: list[_Argument] = []
    tokens, count = iter(argv[1:]), 0
    try:
        for token in tokens:
            argument = options.get(token)
            if argument is None:  # a positional (IndexError: one too many)
                argument, count = positionals[count], count + 1
                values[argument.dest] = argument.value(token)
            else:
                given.append(argument)
                values[argument.dest] = True if argument.flag else argument.value(next(tokens))
        return _namespace(argv[0], command, arguments, values, given)
    except (ValueError, TypeError, IndexError, StopIteration):
        return None


def _namespace(
    name: str,
    command: _Command,
    arguments: list[_Argument],
    values: dict[str, object],
    given: list[_Argument],
) -> Arguments | None:
    """The namespace of a line whose tokens were read into ``values``; ``None`` when argparse
    would refuse the line as a whole."""
    if any(a.positional and a.dest not in values for a in arguments):
        return None
    if any(a.required and a not in given for a in arguments):
        return None
    for index, required in enumerate(command.groups):
        members = {a.dest for a in given if a.group == index}
        if len(members) > 1 or (required and not members):
            return None
    namespace: dict[str, object] = dict(command.defaults)
    for argument in arguments:
        default = namespace.get(argument.dest, argument.default)
        namespace[argument.dest] = argument.default_value(default)
    namespace.update(values)
    return Arguments(command=name, **namespace)
