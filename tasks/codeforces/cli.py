"""``evalr codeforces percentile`` and ``evalr codeforces rate``: the rating arithmetic by hand.

Registered under the ``evalr.commands`` entry point. Errors are ``ConfigError``/``DataError``
with one-line messages; the main CLI prints them and exits with their code.
"""

from __future__ import annotations

import click
from evalr.errors import ConfigError

# Only names here: the arithmetic (numpy) loads when a command runs, so `evalr --help` stays fast.
DISTRIBUTIONS = ("cf-active-2024", "codeelo", "r1-reported")


@click.group()
def codeforces() -> None:
    """Codeforces ratings and percentiles, offline."""


@codeforces.command()
@click.argument("rating", type=float)
@click.option(
    "--distribution",
    "name",
    type=click.Choice(DISTRIBUTIONS),
    default=DISTRIBUTIONS[0],
    show_default=True,
    help="The population of human ratings the percentile is taken in.",
)
def percentile(rating: float, name: str) -> None:
    """Print the percentile of RATING: the share of the population rated below it."""
    from .percentile import distribution

    table = distribution(name)
    value = table.percentile(rating)
    click.echo(f"{value:.1f}  (rating {rating:g} in {table.name}: {table.source})")


def _parse_list(text: str, what: str) -> list[str]:
    items = [i.strip() for i in text.split(",") if i.strip()]
    if not items:
        raise ConfigError(f"--{what} is empty; give comma-separated values")
    return items


@codeforces.command()
@click.option("--contest", "contest_id", type=int, required=True, help="Contest id, e.g. 1350.")
@click.option(
    "--solved", required=True, help="Problem indexes solved, comma-separated: A,B,D1 (or '-')."
)
@click.option(
    "--attempts",
    default=None,
    help="Submissions up to and including the accepted one, per solved problem in the same "
    "order (default 1 each): each earlier one costs 50 points or 10 penalty minutes.",
)
def rate(contest_id: int, solved: str, attempts: str | None) -> None:
    """Print the performance a participant with these results would get in a contest."""
    from .rating import rating_update, zero_change_rating
    from .standings import contest as find_contest

    contest = find_contest(contest_id)
    indexes = [] if solved.strip() == "-" else _parse_list(solved, "solved")
    problems = {p.index.upper(): p for p in contest.problems}
    unknown = [i for i in indexes if i.upper() not in problems]
    if unknown:
        raise ConfigError(
            f"contest {contest_id} has no problem {', '.join(unknown)}; "
            f"its problems: {', '.join(problems)}"
        )
    tries = [1] * len(indexes) if attempts is None else _tries(attempts, len(indexes))
    if contest.unplaceable:
        raise ConfigError(f"contest {contest_id} cannot place a participant: {contest.unplaceable}")
    points = penalty = 0.0
    for index, count in zip(indexes, tries, strict=True):
        problem = problems[index.upper()]
        if contest.rules == "points":
            assert problem.points is not None
            points += max(0.0, problem.points - 50.0 * (count - 1))
        else:
            points += 1
            penalty += 10.0 * (count - 1)
    place = contest.place(points, penalty)
    performance = contest.field.performance(place)
    update = rating_update(contest.points, contest.penalty, contest.old_rating)
    carrot = zero_change_rating(contest.field, place, update.correction)
    result = f"{points:g} points" if contest.rules == "points" else f"{points:g} solved"
    click.echo(f"contest {contest.id} {contest.name}: {contest.participants} rated participants")
    click.echo(f"result: {result}, penalty {penalty:g} (solve times taken as minute 0)")
    click.echo(f"place: {place} (ties take the lowest place)")
    capped = " = the cap, the field's best rating + 100" if performance >= contest.field.cap else ""
    click.echo(f"performance: {performance} (expected place = place; CodeElo's definition{capped})")
    click.echo(
        f"zero-change rating: {carrot} (the rating the official update would leave unchanged; "
        f"correction {update.correction})"
    )


def _tries(text: str, solved: int) -> list[int]:
    items = _parse_list(text, "attempts")
    try:
        tries = [int(i) for i in items]
    except ValueError:
        raise ConfigError(f"--attempts must be whole numbers, got {text!r}") from None
    if len(tries) != solved:
        raise ConfigError(f"--attempts gives {len(tries)} counts for {solved} solved problems")
    from .placement import SUBMISSIONS

    if any(not 1 <= t <= SUBMISSIONS for t in tries):
        raise ConfigError(f"--attempts must each be between 1 and {SUBMISSIONS}")
    return tries


@codeforces.command()
def contests() -> None:
    """List the contests with standings shipped with evalr."""
    from .standings import load_contests

    for found in load_contests().values():
        problems = " ".join(p.index for p in found.problems)
        note = f"  [{found.unplaceable}]" if found.unplaceable else ""
        click.echo(
            f"{found.id}  {found.name}  {found.rules}  {found.participants} rated  {problems}{note}"
        )
