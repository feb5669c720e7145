"""Meeting transcript ingestion, the Definite v4 dataset example: a Read.ai / Otter-style
``meeting_end`` webhook posts the whole transcript; this block counts words and turns per
speaker, finds who spoke most and pulls out action items ("I will…", "let's…", "TODO").

Config (env): ``MIN_WORDS`` (default 0) — turns shorter than this are not counted.
"""

import re
from collections import defaultdict

import wasmhook
from wasmhook import Context, Error, log

ACTION = re.compile(r"\b(i will|i'll|we will|we'll|let's|todo|action item)\b", re.IGNORECASE)


@wasmhook.block
def run(ctx: Context):
    meeting = ctx.data()
    if not isinstance(meeting, dict) or not isinstance(meeting.get("transcript"), list):
        raise Error("expected {\"event_type\", \"transcript\": [{\"speaker\", \"text\"}]}", code="invalid_data")
    min_words = int(ctx.env("MIN_WORDS", "0") or 0)

    speakers = defaultdict(lambda: {"words": 0, "turns": 0})
    actions = []
    for index, turn in enumerate(meeting["transcript"]):
        try:
            speaker, text = str(turn["speaker"]), str(turn["text"])
        except (KeyError, TypeError):
            raise Error(f"transcript[{index}] needs a speaker and a text", code="invalid_data") from None
        words = len(text.split())
        if words < min_words:
            continue
        speakers[speaker]["words"] += words
        speakers[speaker]["turns"] += 1
        if ACTION.search(text):
            actions.append({"speaker": speaker, "text": text})

    total = sum(s["words"] for s in speakers.values())
    top = max(speakers, key=lambda name: speakers[name]["words"]) if speakers else None
    log.info("%d turns, %d speakers, %d words, %d action items",
             len(meeting["transcript"]), len(speakers), total, len(actions))
    return {
        "event_type": meeting.get("event_type"),
        "turns": len(meeting["transcript"]),
        "total_words": total,
        "speakers": dict(sorted(speakers.items())),
        "top_speaker": top,
        "action_items": actions,
        "execution_id": ctx.execution_id(),
        "dataset_key": ctx.dataset_key(),
    }
