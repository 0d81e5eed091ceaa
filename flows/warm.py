"""Imported once by the fork server of a build's process pool, so that its workers start warm.

Every worker of :class:`flows.runners.WarmProcessPool` forks from the server that imported
this module: the task module and the libraries it imports, the built-in template packs
parsed, their Jinja templates compiled and their answer patterns compiled for reading back
(those of a dataset's class names still compile in each worker, on first use). Without it
each worker would import and compile all of that on its own before its first shard.
"""

from __future__ import annotations

from flows import build  # noqa: F401  (the task module workers run, and all it imports)
from generators import shards, text
from generators.config import BuildConfig
from validation import semantic


def warm() -> None:
    """Parse the built-in packs and compile their templates and answer patterns."""
    packs = shards.load_packs(BuildConfig())
    for pack in packs.values():
        for variant in pack.variants:
            text.compile_template(variant.question, pack.trusted)
            text.compile_template(variant.answer, pack.trusted)
        for phrasings in pack.phrases.values():
            for source in phrasings:
                text.compile_template(source, pack.trusted)
    semantic.compile_patterns(packs)


warm()
