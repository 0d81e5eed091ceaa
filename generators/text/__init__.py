"""Template packs (templates/*.yaml) and their sandboxed, deterministic Jinja rendering.

One module per concern: ``packs`` (loading, saving and digests of packs), ``render``
(environments, filters, the seeded choice of variant and phrasings) and ``lint`` (what a
template may use and the sentence form of what it renders). The names below are the API
the rest of harqa uses.
"""

from generators.text.lint import LintIssue, lint_pack, sentence_problems
from generators.text.packs import (DIRECTION_LISTS, PACKS_DIR, PHRASES_FILE, TemplatePack, Variant,
                                   load_packs, load_saved_packs, pack_digest, save_packs,
                                   shared_phrases)
from generators.text.render import (FILTERS, Rendered, compile_template, fmt_number, render,
                                    render_variant, synonym_set)

__all__ = ["DIRECTION_LISTS", "FILTERS", "PACKS_DIR", "PHRASES_FILE", "LintIssue", "Rendered",
           "TemplatePack", "Variant", "compile_template", "fmt_number", "lint_pack", "load_packs",
           "load_saved_packs", "pack_digest", "render", "render_variant", "save_packs",
           "sentence_problems", "shared_phrases", "synonym_set"]
