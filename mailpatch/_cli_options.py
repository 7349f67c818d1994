"""The settings layer's option builders as the commands call them: an OptionsProblem becomes
click's usage error here, and only here (the local page shows it beside its form instead)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import click

from mailpatch import _options
from mailpatch._options import OptionsProblem

P = ParamSpec("P")
R = TypeVar("R")


def usage_error(problem: OptionsProblem) -> click.UsageError:
    """The click error for a problem: 'Invalid value for OPTION: …' when one option is at
    fault, a plain usage error for a combination (exit 2 either way)."""
    if problem.option is None:
        return click.UsageError(problem.message)
    return click.BadParameter(problem.message, param_hint=problem.option)


def _as_usage_errors(build: Callable[P, R]) -> Callable[P, R]:
    @functools.wraps(build)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return build(*args, **kwargs)
        except OptionsProblem as exc:
            raise usage_error(exc) from None

    return wrapper


build_options = _as_usage_errors(_options.build_options)
options_over = _as_usage_errors(_options.options_over)
pair_value = _as_usage_errors(_options.pair_value)
