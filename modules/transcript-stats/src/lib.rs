//! Transcript stats: reads a (possibly multi-megabyte) meeting transcript, as sent by Read.ai or
//! Otter-style `meeting_end` webhooks, and counts words and turns per speaker.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use wasmhook_sdk::{Context, Error, log};

#[derive(Deserialize)]
struct Meeting {
    event_type: String,
    transcript: Vec<Turn>,
    #[serde(default)]
    summary: Option<String>,
}

#[derive(Deserialize)]
struct Turn {
    speaker: String,
    text: String,
}

#[derive(Serialize, Default)]
struct SpeakerStats {
    words: u64,
    turns: u64,
}

#[derive(Serialize)]
struct Stats {
    event_type: String,
    turns: usize,
    total_words: u64,
    speakers: BTreeMap<String, SpeakerStats>,
    top_speaker: Option<String>,
    summary_words: u64,
}

#[wasmhook_sdk::block]
fn run(ctx: Context) -> Result<Stats, Error> {
    let meeting: Meeting = ctx.data()?;
    let mut speakers: BTreeMap<String, SpeakerStats> = BTreeMap::new();
    for turn in &meeting.transcript {
        let stats = speakers.entry(turn.speaker.clone()).or_default();
        stats.words += turn.text.split_whitespace().count() as u64;
        stats.turns += 1;
    }
    let total_words = speakers.values().map(|s| s.words).sum();
    let top_speaker = speakers.iter().max_by_key(|(_, s)| s.words).map(|(name, _)| name.clone());
    log::info!("{} turns, {} speakers, {total_words} words", meeting.transcript.len(), speakers.len());
    Ok(Stats {
        event_type: meeting.event_type,
        turns: meeting.transcript.len(),
        total_words,
        top_speaker,
        summary_words: meeting.summary.as_deref().map_or(0, |s| s.split_whitespace().count() as u64),
        speakers,
    })
}
