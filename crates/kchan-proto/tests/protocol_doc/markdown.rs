//! Reading `docs/protocol.md` for the tests that check it against the
//! code: its tables, the numbers it writes, and which of those another
//! test checks. Shared by `kchan-proto`'s test (`tests/protocol_doc.rs`)
//! and the driver core's (`crates/kchan-driver/src/tests/protocol_doc.rs`),
//! so both read the page the same way.
//!
//! What the page may state, and how each form is checked:
//!
//! - Tables, recognised by their header row ([`TableKind`]); a table of
//!   any other shape fails the test, so a new kind of table gets checked
//!   on purpose.
//! - Numbers written right after a code name: `` `NAME` = 8 `` or
//!   `` `NAME` (24 bytes) `` ([`named_numbers`]).
//! - Any other number in the prose must sit inside a phrase a test checks
//!   (a claim) or one it exempts with a reason ([`numbers`] finds them all).

/// The page, as the test binary was built with it.
pub const DOC: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/protocol.md"));

/// Phrases of the page whose numbers the driver core's test checks
/// against the driver (each has a check there; an unknown one fails it).
pub const DRIVER_CLAIMS: &[&str] = &["from 0 for a newly attached subscriber", "0 for the others"];

/// The heading of the status table of `ioctl` (the two `SUBSCRIBE` codes
/// share one).
pub fn status_section(ioctl: &str) -> &str {
    if ioctl == "IOCTL_SUBSCRIBE_WRITE_ACCESS" {
        "IOCTL_SUBSCRIBE"
    } else {
        ioctl
    }
}

/// What a table states, by its header row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableKind {
    /// `| offset | size | field | type | meaning |`: a structure's layout.
    Struct,
    /// `| name | value | ... |`: named values (constants, IOCTLs, statuses).
    Named,
    /// `| status | when |`: the statuses a request completes with.
    Statuses,
    /// `| limit | kchan.sys | ... |`: what `kchan.sys` advertises (driver test).
    DriverLimits,
    /// `| field | default |`: the default subscription (driver test).
    DefaultSubscription,
}

impl TableKind {
    fn of(header: &[String]) -> Option<TableKind> {
        let h: Vec<&str> = header.iter().map(String::as_str).collect();
        Some(match h.as_slice() {
            ["offset", "size", "field", "type", "meaning"] => TableKind::Struct,
            ["name", "value", ..] => TableKind::Named,
            ["status", "when"] => TableKind::Statuses,
            ["limit", "kchan.sys", ..] => TableKind::DriverLimits,
            ["field", "default"] => TableKind::DefaultSubscription,
            _ => return None,
        })
    }
}

/// A table of the page.
#[derive(Debug, Clone)]
pub struct Table {
    /// Its kind.
    pub kind: TableKind,
    /// The nearest heading above it, without the `#`s.
    pub heading: String,
    /// Its header cells.
    pub header: Vec<String>,
    /// Its body rows.
    pub rows: Vec<Row>,
}

/// A body row of a table.
#[derive(Debug, Clone)]
pub struct Row {
    /// Line number in the page (1-based), for messages.
    pub line: usize,
    /// Byte offset of the line in the page.
    pub offset: usize,
    /// The cells, trimmed.
    pub cells: Vec<String>,
    /// Each cell's byte range in the line.
    pub spans: Vec<(usize, usize)>,
}

impl Table {
    /// The column named `name`, if the table has one.
    pub fn column(&self, name: &str) -> Option<usize> {
        self.header.iter().position(|h| h == name)
    }

    /// The columns whose cells a test checks whole (values, offsets,
    /// sizes, function numbers); numbers in the others are prose.
    pub fn checked_columns(&self) -> Vec<usize> {
        let names: &[&str] = match self.kind {
            TableKind::Struct => &["offset", "size"],
            TableKind::Named => &["value", "function"],
            TableKind::Statuses => &[],
            TableKind::DriverLimits => &["kchan.sys"],
            TableKind::DefaultSubscription => &["default"],
        };
        names.iter().filter_map(|n| self.column(n)).collect()
    }
}

impl Row {
    /// The byte range of the cell in `column`, in the page.
    pub fn cell_span(&self, column: usize) -> (usize, usize) {
        (self.offset + self.spans[column].0, self.offset + self.spans[column].1)
    }
}

/// The lines of the page outside fenced code blocks, with their numbers.
pub fn prose_lines(doc: &str) -> Vec<(usize, &str)> {
    let mut in_code = false;
    let mut out = Vec::new();
    for (i, line) in doc.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            in_code = !in_code;
            continue;
        }
        if !in_code {
            out.push((i + 1, line));
        }
    }
    out
}

/// Byte offset of `part` (a slice of `doc`) in `doc`.
pub fn offset_in(doc: &str, part: &str) -> usize {
    part.as_ptr() as usize - doc.as_ptr() as usize
}

/// The line (1-based) of the byte at `offset`.
pub fn line_of(doc: &str, offset: usize) -> usize {
    doc[..offset].matches('\n').count() + 1
}

/// The page as one line of prose, at the same byte offsets: line breaks
/// become spaces and code blocks blanks, so that a phrase or a name and
/// its number may wrap across lines.
pub fn flat(doc: &str) -> String {
    let mut out = " ".repeat(doc.len()).into_bytes();
    for (_, line) in prose_lines(doc) {
        let at = offset_in(doc, line);
        out[at..at + line.len()].copy_from_slice(line.as_bytes());
    }
    String::from_utf8(out).expect("whole lines of UTF-8")
}

/// Every number of the page's prose: its line and its byte range in the page.
pub fn page_numbers(doc: &str) -> Vec<(usize, Number)> {
    let mut out = Vec::new();
    for (line, text) in prose_lines(doc) {
        let at = offset_in(doc, text);
        out.extend(numbers(text).into_iter().map(|n| (line, Number { start: at + n.start, end: at + n.end, ..n })));
    }
    out
}

/// The cells of a table line, trimmed, with their byte ranges.
fn split_row(line: &str) -> (Vec<String>, Vec<(usize, usize)>) {
    let bars: Vec<usize> = line.match_indices('|').map(|(at, _)| at).collect();
    let (mut cells, mut spans) = (Vec::new(), Vec::new());
    for pair in bars.windows(2) {
        let (start, end) = (pair[0] + 1, pair[1]);
        cells.push(line[start..end].trim().to_string());
        spans.push((start, end));
    }
    (cells, spans)
}

/// Every table of the page. Panics on a table whose header it does not
/// know, or whose rows do not have the header's number of cells.
pub fn tables(doc: &str) -> Vec<Table> {
    let lines = prose_lines(doc);
    let mut out = Vec::new();
    let mut heading = String::new();
    let mut i = 0;
    while i < lines.len() {
        let (n, line) = lines[i];
        if line.starts_with('#') {
            heading = line.trim_start_matches('#').trim().to_string();
        }
        if !line.starts_with('|') {
            i += 1;
            continue;
        }
        let (header, _) = split_row(line);
        let kind = TableKind::of(&header).unwrap_or_else(|| {
            panic!("docs/protocol.md:{n}: a table of an unknown shape {header:?}: teach the test to check it")
        });
        i += 2; // the header and the `|---|` row
        let mut rows = Vec::new();
        while i < lines.len() && lines[i].1.starts_with('|') {
            let (line_no, text) = lines[i];
            let (cells, spans) = split_row(text);
            assert_eq!(
                cells.len(),
                header.len(),
                "docs/protocol.md:{line_no}: {} cells, the header has {}",
                cells.len(),
                header.len()
            );
            rows.push(Row { line: line_no, offset: offset_in(doc, text), cells, spans });
            i += 1;
        }
        out.push(Table { kind, heading: heading.clone(), header, rows });
    }
    out
}

/// The text of a cell without the backticks around a code name.
pub fn unquote(cell: &str) -> &str {
    cell.trim().trim_matches('`')
}

/// A number as the page writes it: decimal (`16384`, `10,000,000`) or hex
/// (`0x0022A004`).
pub fn parse_number(text: &str) -> Option<u64> {
    if let Some(hex) = text.strip_prefix("0x") {
        return u64::from_str_radix(hex, 16).ok();
    }
    if text.is_empty() || !text.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    text.replace(',', "").parse().ok()
}

/// Where a number stands in a line: byte range and text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Number {
    /// Byte offset of its first character.
    pub start: usize,
    /// Byte offset after its last character.
    pub end: usize,
    /// Its text.
    pub text: String,
}

/// The numbers of a line of prose: digit runs (with `,` between digit
/// groups) and `0x` hex, not counting digits inside a name (`u32`,
/// `Win32`, `x86_64`), a link target (`](#...-48-bytes)`) or a list
/// marker (`1. `).
pub fn numbers(line: &str) -> Vec<Number> {
    let bytes = line.as_bytes();
    let mut skip = vec![false; bytes.len()];
    // Link targets.
    let mut from = 0;
    while let Some(p) = line[from..].find("](") {
        let open = from + p + 1;
        let close = line[open..].find(')').map_or(bytes.len(), |c| open + c + 1);
        skip[open..close].iter_mut().for_each(|s| *s = true);
        from = close.min(bytes.len());
    }
    // An ordered list's marker.
    let indent = line.len() - line.trim_start().len();
    let marker = line[indent..].bytes().take_while(u8::is_ascii_digit).count();
    if marker > 0 && line[indent + marker..].starts_with(". ") {
        skip[indent..indent + marker].iter_mut().for_each(|s| *s = true);
    }
    numbers_outside(line, &skip)
}

/// The numbers of `text` outside the bytes marked in `skip`.
fn numbers_outside(line: &str, skip: &[bool]) -> Vec<Number> {
    let bytes = line.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let in_name = i > 0 && (bytes[i - 1].is_ascii_alphanumeric() || bytes[i - 1] == b'_');
        if skip[i] || in_name || !bytes[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let Some(n) = number_at(&line[i..]) else {
            i += 1;
            continue;
        };
        out.push(Number { start: i + n.start, end: i + n.end, ..n });
        i += n.end;
        // Digits running into letters (`8th`) were still a number.
        while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
            i += 1;
        }
    }
    out
}

/// The number `text` starts with, if it starts with one.
fn number_at(text: &str) -> Option<Number> {
    let bytes = text.as_bytes();
    if !bytes.first()?.is_ascii_digit() {
        return None;
    }
    let mut i = 0;
    if text.starts_with("0x") {
        i = 2;
        while i < bytes.len() && bytes[i].is_ascii_hexdigit() {
            i += 1;
        }
    } else {
        while i < bytes.len()
            && (bytes[i].is_ascii_digit()
                || (bytes[i] == b',' && i > 0 && bytes.get(i + 1).is_some_and(u8::is_ascii_digit)))
        {
            i += 1;
        }
    }
    Some(Number { start: 0, end: i, text: text[..i].to_string() })
}

/// A number written right after a code name: `` `NAME` = N `` or
/// `` `NAME` (N ``, the spaces being any whitespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedNumber {
    /// The code name.
    pub name: String,
    /// The number.
    pub number: Number,
}

/// The named numbers of a line of prose.
pub fn named_numbers(line: &str) -> Vec<NamedNumber> {
    let mut out = Vec::new();
    let mut rest = 0;
    while let Some(open) = line[rest..].find('`') {
        let open = rest + open;
        let Some(close) = line[open + 1..].find('`') else { break };
        let close = open + 1 + close;
        let name = &line[open + 1..close];
        rest = close + 1;
        let is_name = !name.is_empty()
            && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':' || c == '.');
        if !is_name {
            continue;
        }
        let after = &line[rest..];
        let gap = after.len() - after.trim_start().len();
        let after = after.trim_start();
        let skip = if let Some(value) = after.strip_prefix('=') {
            gap + 1 + (value.len() - value.trim_start().len())
        } else if after.starts_with('(') && gap > 0 {
            gap + 1
        } else {
            continue;
        };
        let at = rest + skip;
        if let Some(number) = number_at(&line[at..]) {
            let number = Number { start: at + number.start, end: at + number.end, ..number };
            out.push(NamedNumber { name: name.to_string(), number });
        }
    }
    out
}

/// The value a checked cell states: its first word, a number. Any other
/// number in the cell must be a size annotation that agrees with it:
/// `16384 (16 KiB)`, `1073741824 (1 GiB)`.
pub fn value_cell(cell: &str) -> Result<u64, String> {
    let first = cell.split_whitespace().next().unwrap_or("");
    let value = parse_number(first).ok_or_else(|| format!("`{cell}` does not start with a number"))?;
    for n in numbers(cell).into_iter().skip(1) {
        let annotated = parse_number(&n.text).unwrap_or(u64::MAX);
        let unit = cell[n.end..].trim_start();
        let scale = [(" KiB)", 1u64 << 10), (" MiB)", 1 << 20), (" GiB)", 1 << 30)]
            .iter()
            .find(|(suffix, _)| cell[n.end..].starts_with(suffix))
            .map(|(_, scale)| *scale);
        match scale {
            Some(scale) if annotated.checked_mul(scale) == Some(value) => {}
            Some(_) => return Err(format!("`{cell}`: {} {} is not {value}", n.text, unit.trim_end_matches(')'))),
            None => return Err(format!("`{cell}`: {} is neither the value nor a size annotation of it", n.text)),
        }
    }
    Ok(value)
}

/// The byte ranges of `text` where `phrase` occurs, any run of
/// whitespace in `text` matching a space of the phrase.
pub fn phrase_spans(text: &str, phrase: &str) -> Vec<(usize, usize)> {
    let words: Vec<&str> = phrase.split_whitespace().collect();
    let Some(first) = words.first() else { return Vec::new() };
    let mut out = Vec::new();
    'starts: for (start, _) in text.match_indices(first) {
        let mut end = start + first.len();
        for word in &words[1..] {
            let rest = &text[end..];
            let gap = rest.len() - rest.trim_start().len();
            if gap == 0 || !rest[gap..].starts_with(word) {
                continue 'starts;
            }
            end += gap + word.len();
        }
        out.push((start, end));
    }
    out
}

/// `text` (a number) with its last digit changed: what the mutation tests
/// write in a number's place.
pub fn bumped(text: &str) -> String {
    let (head, last) = text.split_at(text.len() - 1);
    let radix = if text.starts_with("0x") { 16 } else { 10 };
    let digit = u32::from_str_radix(last, 16).expect("a number ends in a digit");
    format!("{head}{}", char::from_digit((digit + 1) % radix, radix).unwrap().to_ascii_uppercase())
}

/// `doc` with the number `n` changed ([`bumped`]).
pub fn with_number_changed(doc: &str, n: &Number) -> String {
    format!("{}{}{}", &doc[..n.start], bumped(&n.text), &doc[n.end..])
}

/// `doc` without its line `line` (1-based).
pub fn without_line(doc: &str, line: usize) -> String {
    doc.lines().enumerate().filter(|(i, _)| i + 1 != line).map(|(_, l)| format!("{l}\n")).collect()
}
