"""Settings declared once: a dataclass field carries its help text, and the flags come from it.

    n_embd: int = setting(384, "width of the residual stream")

`add_flags(parser, TrainConfig)` then gives every field a flag (`--n-embd`), typed
from the field's annotation; a bool field gets `--name/--no-name`. The dataclass stays
the one place a setting is written down: its default, its help and its check.
"""
import argparse
import typing
from dataclasses import field, fields


METAVARS = {int: 'N', float: 'X', str: 'TEXT'}


def setting(default, help, *, flags=None, choices=None, metavar=None):
    """A dataclass field with its command-line help (`flags`: the flag names, if not --field-name)."""
    return field(default=default, metadata={'help': help, 'flags': flags, 'choices': choices,
                                            'metavar': metavar})


def flags_of(f):
    """The flag names of a dataclass field, the first being the one error messages name."""
    return f.metadata.get('flags') or ('--' + f.name.replace('_', '-'),)


def value_type(f):
    """int, float, str or bool, from the annotation (Optional[int] -> int)."""
    kind = f.type
    if typing.get_origin(kind) is typing.Union:
        kind = next(t for t in typing.get_args(kind) if t is not type(None))
    return kind


def add_flags(parser, cls, skip=()):
    """One flag per field of `cls` (except `skip`); each defaults to None, meaning 'not given'."""
    for f in fields(cls):
        if f.name in skip:
            continue
        kind, help_text = value_type(f), f.metadata.get('help')
        if not help_text:
            raise TypeError(f"{cls.__name__}.{f.name} has no help text: declare it with setting()")
        if kind is bool:
            parser.add_argument(*flags_of(f), dest=f.name, action=argparse.BooleanOptionalAction,
                                default=None, help=help_text)
        else:
            choices = f.metadata.get('choices')
            metavar = None if choices else f.metadata.get('metavar') or METAVARS.get(kind)
            parser.add_argument(*flags_of(f), dest=f.name, type=kind, default=None, choices=choices,
                                metavar=metavar, help=help_text)


def given_values(args, cls):
    """{field: value} for the fields of `cls` whose flags were given on the command line."""
    return {f.name: getattr(args, f.name) for f in fields(cls) if getattr(args, f.name, None) is not None}


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr (no usage dump), exit status 2."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")
