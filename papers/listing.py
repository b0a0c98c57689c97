"""Daily lists: which papers a category (or a combination of categories) announced on a day."""

import datetime as dt
import re
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet

from papers.models import Paper
from papers.taxonomy import CATEGORIES

# An archive (`cs`, `math`, `astro-ph`) stands for all of its categories: `/arxiv/cs`.
ARCHIVES = {
    archive: tuple(c for c in CATEGORIES if c == archive or c.startswith(archive + "."))
    for archive in {code.split(".")[0] for code in CATEGORIES if "." in code}
}
# Longest first, so `hep-th` wins over an exclusion of `th` and `cond-mat.mes-hall` is one code.
_CODES_LONGEST_FIRST = sorted({*CATEGORIES, *ARCHIVES}, key=len, reverse=True)


class UnknownCategory(LookupError):
    """A code that is not in arXiv's taxonomy."""


class BadListSpec(ValueError):
    """Text that is not a list of categories joined by `,` `+` or `-`."""


@dataclass(frozen=True)
class ListSpec:
    """`cs.AI,cs.CL` is a union; `cs.AI+cs.LG-cs.CY` a union minus the papers in cs.CY."""

    include: tuple[str, ...]
    exclude: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str) -> "ListSpec":
        include: list[str] = []
        exclude: list[str] = []
        position, operator = 0, ","
        while position < len(text):
            code = next((c for c in _CODES_LONGEST_FIRST if text.startswith(c, position)), None)
            if code in ARCHIVES and text.startswith(".", position + len(code)):
                code = None  # `cs.XX`: an unknown category, not the archive followed by junk
            if code is None:
                rest = re.split(r"[,+]", text[position:])[0]
                raise UnknownCategory(rest or text)
            (exclude if operator == "-" else include).append(code)
            position += len(code)
            if position < len(text):
                operator = text[position]
                if operator not in ",+-":
                    raise BadListSpec(
                        f"unexpected {operator!r} in {text!r}: join codes with , + or -"
                    )
                if position + 1 == len(text):
                    raise BadListSpec(f"expected a category after {text!r}")
                position += 1
        if not include:
            raise BadListSpec("a list needs at least one category to include")
        return cls(tuple(dict.fromkeys(include)), tuple(dict.fromkeys(exclude)))

    def __str__(self) -> str:
        return ",".join(self.include) + "".join(f"-{c}" for c in self.exclude)

    @property
    def codes(self) -> tuple[str, ...]:
        return self.include + self.exclude

    @property
    def archives(self) -> tuple[str, ...]:
        """The whole archives in the list (`cs` in `cs-cs.LG`)."""
        return tuple(code for code in self.codes if code in ARCHIVES)

    def papers(self) -> QuerySet[Paper]:
        # EXISTS, not a join with DISTINCT: with a day filter the database walks that day's
        # papers on the `announced` index and checks each one's categories.
        papers = Paper.objects.filter(_in_categories(_expanded(self.include)))
        if self.exclude:
            papers = papers.exclude(_in_categories(_expanded(self.exclude)))
        return papers


def _expanded(codes: tuple[str, ...]) -> tuple[str, ...]:
    """Category codes with each archive replaced by its categories."""
    return tuple(dict.fromkeys(c for code in codes for c in ARCHIVES.get(code, (code,))))


def _in_categories(codes: tuple[str, ...]) -> Exists:
    through = Paper.categories.through.objects
    return Exists(through.filter(paper_id=OuterRef("pk"), category_id__in=codes))


def latest_day(spec: ListSpec) -> dt.date | None:
    """The last day on which the list announced papers."""
    return _days(spec).order_by("-announced").first()


def neighbours(spec: ListSpec, day: dt.date) -> tuple[dt.date | None, dt.date | None]:
    """The previous and next announcement days around `day`."""
    previous = _days(spec).filter(announced__lt=day).order_by("-announced").first()
    following = _days(spec).filter(announced__gt=day).order_by("announced").first()
    return previous, following


def _days(spec: ListSpec) -> QuerySet:
    return spec.papers().exclude(announced=None).values_list("announced", flat=True)
