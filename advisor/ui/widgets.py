"""Small pieces several pages show: the smoke banner and the recommendation's parts."""

from __future__ import annotations

import re
from typing import Any

import streamlit as st

from advisor.report.formatting import APPROACH_LABELS, SMOKE_NOTICE, label
from advisor.ui.texts import app_next_step, grouped_constraints

SMOKE_TITLE = "Smoke run: built-in tiny model."
# Enough to stop links, images, HTML, code, emphasis, LaTeX ($), icons and emoji (:x:) in
# text from users or data; "_" is left alone (not emphasis inside words) so messages that
# name keys like doc_id stay greppable.
_MD_SPECIAL = str.maketrans({c: "\\" + c for c in "\\`*[]<>#$:"})
_CODE = re.compile(r"(`[^`\n]+`)")


def escape_md(text: object) -> str:
    """User or data text shown as Markdown must not become links, images or markup."""
    return str(text).translate(_MD_SPECIAL)


def md_keep_code(text: object) -> str:
    """Escape everything except `code spans` (rule texts quote commands that way)."""
    parts = _CODE.split(str(text))
    return "".join(p if _CODE.fullmatch(p) else escape_md(p) for p in parts)


def error(message: object) -> None:
    """An AdvisorError (or any message quoting user data) as an error box."""
    st.error(escape_md(message), icon=":material/error:")


def smoke_banner(results: dict[str, Any] | None, show_notes: bool = True) -> bool:
    """Warn whenever numbers come from the built-in model; True when it was shown."""
    if not results or not results.get("smoke"):
        return False
    st.warning(f"**{SMOKE_TITLE}** {SMOKE_NOTICE}", icon=":material/science:")
    if show_notes:  # e.g. why the default model could not be had
        for note in results.get("notes") or []:
            st.caption(escape_md(str(note)))
    return True


def approach_label(name: str) -> str:
    return label(name, APPROACH_LABELS)


def headline(rec: dict[str, Any]) -> None:
    """Primary approach, confidence, what is ruled out or must wait, and the next step."""
    st.metric("Recommended approach", approach_label(rec["primary"]))
    st.caption(f"Confidence: **{rec.get('confidence', '?')}** (margin between the top two)")
    for names, verb, text in grouped_constraints(rec):
        who = " and ".join(f"**{approach_label(a)}**" for a in names)
        st.caption(f"{who} {verb}: {md_keep_code(text)}")
    st.markdown(f"**Next step:** {md_keep_code(app_next_step(rec.get('next_step') or ''))}")


def scores_table(rec: dict[str, Any]) -> None:
    scores = rec.get("scores") or {}
    rows = [
        {"approach": approach_label(a), "score": float(scores[a])}
        for a in rec.get("ranking") or scores
        if a in scores
    ]
    if rows:
        st.dataframe(rows, hide_index=True, width="stretch")


def reasons(rec: dict[str, Any], max_reasons: int | None = None) -> None:
    """The cited reasons, each with the principle or paper it rests on; a reason already
    shown beside the headline (why an option is ruled out or must wait) is not repeated."""
    shown_above = {text for _, _, text in grouped_constraints(rec)}
    items = [r for r in rec.get("reasons") or [] if r.get("text") not in shown_above]
    shown = items if max_reasons is None else items[:max_reasons]

    def line(reason: dict[str, Any]) -> str:
        source = escape_md(reason.get("source") or "")
        return f"- {md_keep_code(app_next_step(reason['text']))}  \n  *{source}*"

    if shown:
        st.markdown("\n".join(line(r) for r in shown))
    if max_reasons is not None and len(items) > max_reasons:
        with st.expander(f"{len(items) - max_reasons} more reason(s)"):
            st.markdown("\n".join(line(r) for r in items[max_reasons:]))
