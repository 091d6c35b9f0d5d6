//! The lines `kchan tail` prints: one per event and one per gap, as text
//! for a person or as NDJSON (schema version 1) for log shippers.
//! Portable, so it is tested on the host.
//!
//! JSON (one object per line, fields in this order):
//!
//! ```text
//! {"v":1,"seq":0,"kind":6,"time":"2026-12-01T14:36:55.123456Z","qpc":12345678,"len":5,"payload":"hello"}
//! {"v":1,"seq":1,"kind":6,"time":"2026-12-01T14:36:55.123460Z","qpc":12345720,"len":3,"payload_b64":"AP8Q"}
//! {"v":1,"time":"2026-12-01T14:36:55.124000Z","qpc":12355678,"gap":{"first_seq":2,"count":37,"reason":"ring_full"}}
//! ```
//!
//! `payload` when the payload is valid UTF-8 (JSON-escaped), else
//! `payload_b64` (standard base64, padded). Text:
//!
//! ```text
//! #0        kind 6   2026-12-01T14:36:55.123456Z      5 B  text hello
//! #1        kind 6   2026-12-01T14:36:55.123460Z      3 B  hex 00ff10
//! #2..#38   lost 37 events (ring full) at 2026-12-01T14:36:55.124000Z
//! ```
//!
//! In text, a payload is shown as text when it is UTF-8 without control
//! characters, else as hex, and cut after `max_bytes` bytes with
//! `… (N more bytes)`.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use kchan::GapReason;
use serde::ser::{SerializeStruct, Serializer};
use serde::Serialize;
use std::io::Write;
use std::time::SystemTime;

/// The version of the JSON schema, in every line's `"v"`.
pub const SCHEMA_VERSION: u32 = 1;

/// How lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// For a person; payloads cut after `max_bytes`.
    Text {
        /// Payload bytes shown before the cut.
        max_bytes: usize,
    },
    /// NDJSON, whole payloads.
    Json,
}

/// One event, as `kchan tail` shows it.
#[derive(Debug, Clone, Copy)]
pub struct EventLine<'a> {
    /// The subscriber's sequence number.
    pub seq: u64,
    /// The event's kind.
    pub kind: u16,
    /// Wall-clock time of the publish.
    pub time: SystemTime,
    /// The driver's timestamp (100 ns ticks of the performance counter).
    pub qpc: u64,
    /// The payload.
    pub payload: &'a [u8],
}

/// One gap: `count` events from `first_seq` lost for `reason`.
#[derive(Debug, Clone, Copy)]
pub struct GapLine {
    /// The first missing sequence number.
    pub first_seq: u64,
    /// How many are missing.
    pub count: u64,
    /// Why.
    pub reason: GapReason,
    /// Wall-clock time the first of them was lost.
    pub time: SystemTime,
    /// The same, as the driver's timestamp.
    pub qpc: u64,
}

/// The name of a gap reason in both formats' output.
pub fn reason_name(reason: GapReason) -> &'static str {
    match reason {
        GapReason::RingFull => "ring_full",
        GapReason::Overwritten => "overwritten",
    }
}

/// Writes lines into a buffer, reusing what consecutive lines share: the
/// time text (records of one generator chunk or inject message carry the
/// same stamp) and the base64 scratch space.
#[derive(Debug)]
pub struct Lines {
    format: Format,
    time: TimeText,
    b64: String,
}

/// The last time formatted, and its text.
#[derive(Debug, Default)]
struct TimeText {
    at: Option<SystemTime>,
    text: String,
}

impl TimeText {
    /// `time` as RFC 3339 UTC with microseconds; formatted only when it is
    /// not the time asked for last.
    fn of(&mut self, time: SystemTime) -> &str {
        if self.at != Some(time) {
            use std::fmt::Write as _;
            self.text.clear();
            let _ = write!(self.text, "{}", humantime::format_rfc3339_micros(time));
            self.at = Some(time);
        }
        &self.text
    }
}

impl Lines {
    /// Lines in `format`.
    pub fn new(format: Format) -> Lines {
        Lines { format, time: TimeText::default(), b64: String::new() }
    }

    /// Appends the event's line (with its newline) to `out`.
    pub fn event(&mut self, out: &mut Vec<u8>, e: &EventLine<'_>) {
        let time = self.time.of(e.time);
        match self.format {
            Format::Json => {
                let payload = match std::str::from_utf8(e.payload) {
                    Ok(text) => Payload::Text(text),
                    Err(_) => {
                        self.b64.clear();
                        STANDARD.encode_string(e.payload, &mut self.b64);
                        Payload::Base64(&self.b64)
                    }
                };
                let json = JsonEvent { seq: e.seq, kind: e.kind, time, qpc: e.qpc, len: e.payload.len(), payload };
                serde_json::to_writer(&mut *out, &json).expect("writing JSON to a Vec cannot fail");
            }
            Format::Text { max_bytes } => {
                let _ = write!(out, "#{:<8} kind {:<3} {time}  {:>5} B", e.seq, e.kind, e.payload.len());
                text_payload(out, e.payload, max_bytes);
            }
        }
        out.push(b'\n');
    }

    /// Appends the gap's line (with its newline) to `out`.
    pub fn gap(&mut self, out: &mut Vec<u8>, g: &GapLine) {
        let time = self.time.of(g.time);
        match self.format {
            Format::Json => {
                let gap = JsonGapInfo { first_seq: g.first_seq, count: g.count, reason: reason_name(g.reason) };
                let json = JsonGap { v: SCHEMA_VERSION, time, qpc: g.qpc, gap };
                serde_json::to_writer(&mut *out, &json).expect("writing JSON to a Vec cannot fail");
            }
            Format::Text { .. } => {
                let last = g.first_seq + g.count.saturating_sub(1);
                let span = format!("#{}..#{last}", g.first_seq);
                let reason = reason_name(g.reason).replace('_', " ");
                let _ = write!(out, "{span:<9} lost {} events ({reason}) at {time}", g.count);
            }
        }
        out.push(b'\n');
    }
}

/// `  text ...` or `  hex ...` (nothing for an empty payload), cut after
/// `max_bytes` bytes (at a character boundary for text).
fn text_payload(out: &mut Vec<u8>, payload: &[u8], max_bytes: usize) {
    if payload.is_empty() {
        return;
    }
    let shown = match std::str::from_utf8(payload) {
        Ok(text) if !text.chars().any(char::is_control) => {
            let mut end = text.len().min(max_bytes);
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            out.extend_from_slice(b"  text ");
            out.extend_from_slice(&text.as_bytes()[..end]);
            end
        }
        _ => {
            let end = payload.len().min(max_bytes);
            out.extend_from_slice(b"  hex ");
            const DIGITS: &[u8; 16] = b"0123456789abcdef";
            for b in &payload[..end] {
                out.extend_from_slice(&[DIGITS[usize::from(b >> 4)], DIGITS[usize::from(b & 0xf)]]);
            }
            end
        }
    };
    if shown < payload.len() {
        let _ = write!(out, "… ({} more bytes)", payload.len() - shown);
    }
}

/// The JSON payload field: `payload` (UTF-8) or `payload_b64`.
enum Payload<'a> {
    Text(&'a str),
    Base64(&'a str),
}

/// An event line's JSON; fields in this order.
struct JsonEvent<'a> {
    seq: u64,
    kind: u16,
    time: &'a str,
    qpc: u64,
    len: usize,
    payload: Payload<'a>,
}

impl Serialize for JsonEvent<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut st = s.serialize_struct("Event", 7)?;
        st.serialize_field("v", &SCHEMA_VERSION)?;
        st.serialize_field("seq", &self.seq)?;
        st.serialize_field("kind", &self.kind)?;
        st.serialize_field("time", self.time)?;
        st.serialize_field("qpc", &self.qpc)?;
        st.serialize_field("len", &self.len)?;
        match self.payload {
            Payload::Text(text) => st.serialize_field("payload", text)?,
            Payload::Base64(b64) => st.serialize_field("payload_b64", b64)?,
        }
        st.end()
    }
}

/// A gap line's JSON: `{"v":1,"time":..,"qpc":..,"gap":{..}}`.
#[derive(Serialize)]
struct JsonGap<'a> {
    v: u32,
    time: &'a str,
    qpc: u64,
    gap: JsonGapInfo,
}

#[derive(Serialize)]
struct JsonGapInfo {
    first_seq: u64,
    count: u64,
    reason: &'static str,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;
    use std::time::Duration;

    fn t() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_micros(1_764_600_000_123_456)
    }

    fn line(format: Format, payload: &[u8]) -> String {
        let mut out = Vec::new();
        Lines::new(format).event(&mut out, &EventLine { seq: 7, kind: 3, time: t(), qpc: 99, payload });
        String::from_utf8(out).expect("always UTF-8")
    }

    fn json(payload: &[u8]) -> Value {
        let l = line(Format::Json, payload);
        assert!(l.ends_with('\n') && l.matches('\n').count() == 1, "one line: {l:?}");
        serde_json::from_str(&l).unwrap()
    }

    #[test]
    fn json_events_carry_every_field_and_the_exact_payload() {
        let v = json(b"he said \"hi\"\n");
        assert_eq!(v["v"], 1);
        assert_eq!(v["seq"], 7);
        assert_eq!(v["kind"], 3);
        assert_eq!(v["time"], "2025-12-01T14:40:00.123456Z");
        assert_eq!(v["qpc"], 99);
        assert_eq!(v["len"], 13);
        assert_eq!(v["payload"], "he said \"hi\"\n");
        assert!(v.get("payload_b64").is_none());
        let bin = json(&[0, 0xff, 0x10, 0x80]);
        assert!(bin.get("payload").is_none());
        let decoded = STANDARD.decode(bin["payload_b64"].as_str().unwrap()).unwrap();
        assert_eq!(decoded, [0, 0xff, 0x10, 0x80]);
        assert_eq!(json(b"")["payload"], "");
        let l = line(Format::Json, b"x");
        let at: Vec<usize> = ["v", "seq", "kind", "time", "qpc", "len", "payload"]
            .iter()
            .map(|k| l.find(&format!("\"{k}\":")).unwrap_or_else(|| panic!("{k} in {l}")))
            .collect();
        assert!(at.windows(2).all(|w| w[0] < w[1]), "stable field order: {l}");
    }

    #[test]
    fn json_gaps_name_what_was_lost_and_why() {
        let mut out = Vec::new();
        let g = GapLine { first_seq: 10, count: 5, reason: GapReason::Overwritten, time: t(), qpc: 42 };
        Lines::new(Format::Json).gap(&mut out, &g);
        let v: Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["v"], 1);
        assert_eq!(v["gap"]["first_seq"], 10);
        assert_eq!(v["gap"]["count"], 5);
        assert_eq!(v["gap"]["reason"], "overwritten");
        assert_eq!(v["time"], "2025-12-01T14:40:00.123456Z");
        assert!(v.get("seq").is_none(), "a gap is not an event");
    }

    #[test]
    fn text_shows_printable_utf8_as_text_and_the_rest_as_hex() {
        let text = Format::Text { max_bytes: 64 };
        let l = line(text, "héllo wörld".as_bytes());
        assert!(l.starts_with("#7 ") && l.contains("kind 3") && l.contains("2025-12-01T14:40:00.123456Z"), "{l}");
        assert!(l.ends_with("   13 B  text héllo wörld\n"), "{l}");
        assert!(line(text, &[0, 0xff, 0x10]).ends_with("3 B  hex 00ff10\n"));
        assert!(line(text, b"tab\there").ends_with("hex 7461620968657265\n"), "control characters go as hex");
        assert!(line(text, b"").ends_with("0 B\n"));
    }

    #[test]
    fn text_cuts_long_payloads_and_says_so() {
        let cut = Format::Text { max_bytes: 4 };
        assert!(line(cut, b"abcdefgh").ends_with("text abcd… (4 more bytes)\n"));
        // Never inside a character: 'é' is two bytes.
        assert!(line(cut, "abcé".as_bytes()).ends_with("text abc… (2 more bytes)\n"));
        assert!(line(cut, &[1, 2, 3, 4, 5]).ends_with("hex 01020304… (1 more bytes)\n"));
        assert!(line(cut, b"abcd").ends_with("text abcd\n"), "no mark when nothing is cut");
    }

    #[test]
    fn text_gaps_show_the_missing_range() {
        let mut out = Vec::new();
        let g = GapLine { first_seq: 2, count: 37, reason: GapReason::RingFull, time: t(), qpc: 0 };
        Lines::new(Format::Text { max_bytes: 8 }).gap(&mut out, &g);
        let l = String::from_utf8(out).unwrap();
        assert_eq!(l, "#2..#38   lost 37 events (ring full) at 2025-12-01T14:40:00.123456Z\n");
    }
}
