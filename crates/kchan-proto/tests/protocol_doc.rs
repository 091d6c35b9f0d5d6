//! `docs/protocol.md`, the wire protocol for client writers, checked
//! against this crate: every IOCTL's code, function, method and access;
//! every structure's size and every field's offset, size and type; every
//! named value (constants, statuses, flags, enum values, limits); every
//! number written after a code name; every rule stated with a number
//! ([`claims`]); and that nothing the crate defines is missing. Every other
//! number on the page must be exempted with a reason, so the page cannot
//! state a number nobody checks; the mutation tests change each number
//! and remove each row in turn and require the check to notice.
//!
//! The `kchan.sys` tables and the per-request status lists are checked
//! against the driver by the driver core's own test
//! (`crates/kchan-driver/src/tests/protocol_doc.rs`).

#[path = "protocol_doc/claims.rs"]
mod claims;
#[path = "protocol_doc/code.rs"]
mod code;
#[path = "protocol_doc/markdown.rs"]
mod markdown;
#[path = "support/wire_structs.rs"]
mod wire_structs;

use kchan_proto::{FILE_DEVICE_UNKNOWN, METHOD_BUFFERED, STATUS_NAMES};
use markdown::{
    bumped, flat, line_of, named_numbers, page_numbers, parse_number, phrase_spans, tables, unquote, value_cell,
    with_number_changed, without_line,
};
use markdown::{status_section, Table, TableKind, DOC, DRIVER_CLAIMS};
use std::collections::BTreeSet;

/// Everything `doc` states that disagrees with the crate, or that nothing
/// checks; empty when the page is right.
fn check(doc: &str) -> Vec<String> {
    let tables = tables(doc);
    let mut errors = Vec::new();
    check_structs(&tables, &mut errors);
    check_named_values(&tables, &mut errors);
    check_status_tables(&tables, &mut errors);
    check_named_numbers(doc, &mut errors);
    check_claims(doc, &mut errors);
    check_coverage(doc, &tables, &mut errors);
    errors
}

/// The structure a heading such as `` ### `VersionInfo` (32 bytes) `` is about.
fn heading_struct(heading: &str) -> Option<String> {
    named_numbers(heading).into_iter().next().map(|n| n.name)
}

fn check_structs(tables: &[Table], errors: &mut Vec<String>) {
    let structs = code::structs();
    for s in &structs {
        let mut at = 0;
        for f in &s.fields {
            if f.offset != at {
                errors.push(format!(
                    "test: `{}.{}` is at {}, not {at}: list the fields in order",
                    s.name, f.name, f.offset
                ));
            }
            at = f.offset + f.size;
        }
        if at != s.size {
            errors.push(format!(
                "test: the fields listed for `{}` end at {at} of {} bytes: list its new field",
                s.name, s.size
            ));
        }
        let Some(table) = tables
            .iter()
            .find(|t| t.kind == TableKind::Struct && heading_struct(&t.heading).as_deref() == Some(s.name))
        else {
            errors.push(format!(
                "`{}` has no table on the page (a heading `{}` (N bytes) then its fields)",
                s.name, s.name
            ));
            continue;
        };
        if table.rows.len() != s.fields.len() {
            errors.push(format!(
                "`{}`: {} rows on the page, {} fields in the code",
                s.name,
                table.rows.len(),
                s.fields.len()
            ));
        }
        for (row, f) in table.rows.iter().zip(&s.fields) {
            let page = (
                parse_number(&row.cells[0]),
                parse_number(&row.cells[1]),
                unquote(&row.cells[2]),
                unquote(&row.cells[3]),
            );
            let code = (Some(f.offset as u64), Some(f.size as u64), f.name, f.ty);
            if page != code {
                errors.push(format!("docs/protocol.md:{}: `{}` row {page:?}, the code has {code:?}", row.line, s.name));
            }
            if f.name.starts_with("reserved") {
                match claims::reserved_check(s.name).map(|check| check()) {
                    _ if row.cells[4] != "0" => {
                        errors.push(format!("docs/protocol.md:{}: a reserved field's meaning is `0`", row.line))
                    }
                    Some(Ok(())) => {}
                    Some(Err(e)) => errors.push(format!("docs/protocol.md:{}: {e}", row.line)),
                    None => errors.push(format!("test: nothing checks that `{}.{}` must be 0", s.name, f.name)),
                }
            }
        }
    }
    for t in tables.iter().filter(|t| t.kind == TableKind::Struct) {
        if !structs.iter().any(|s| heading_struct(&t.heading).as_deref() == Some(s.name)) {
            errors.push(format!("a field table under `{}`, which is no structure of the crate", t.heading));
        }
    }
}

fn check_named_values(tables: &[Table], errors: &mut Vec<String>) {
    let known = code::named_values();
    let win32 = code::win32_errors();
    let (mut seen, mut ioctls) = (BTreeSet::new(), BTreeSet::new());
    for t in tables.iter().filter(|t| t.kind == TableKind::Named) {
        for row in &t.rows {
            let name = unquote(&row.cells[0]);
            let at = format!("docs/protocol.md:{}: `{name}`", row.line);
            let value = match value_cell(&row.cells[1]) {
                Ok(v) => v,
                Err(e) => {
                    errors.push(format!("{at}: {e}"));
                    continue;
                }
            };
            match known.get(name) {
                None => errors.push(format!("{at} is not a value the crate defines")),
                Some(&v) if v != value => errors.push(format!("{at} is {value:#x} on the page, {v:#x} in the code")),
                Some(_) => {}
            }
            seen.insert(name.to_string());
            if let Some(function) = t.column("function") {
                ioctls.insert(name.to_string());
                let access = |cell: &str| known.get(unquote(cell)).copied();
                let page = (
                    parse_number(&row.cells[function]),
                    unquote(&row.cells[t.column("method").unwrap_or(0)]),
                    access(&row.cells[t.column("access").unwrap_or(0)]),
                );
                let code = (Some((value >> 2) & 0xFFF), "METHOD_BUFFERED", Some((value >> 14) & 3));
                if page != code
                    || value & 3 != u64::from(METHOD_BUFFERED)
                    || value >> 16 != u64::from(FILE_DEVICE_UNKNOWN)
                {
                    errors.push(format!("{at}: function, method, access {page:?}; its code says {code:?}"));
                }
            }
            if let Some(column) = t.column("Win32 error") {
                let error = named_numbers(&row.cells[column]).into_iter().next().map(|n| n.name);
                if !error.as_ref().is_some_and(|e| win32.contains_key(e)) {
                    errors.push(format!("{at}: its Win32 error is not written as `ERROR_NAME` (number)"));
                }
            }
        }
    }
    for name in known.keys().filter(|n| !seen.contains(*n)) {
        errors.push(format!("`{name}` is defined by the crate but in no `| name | value |` table of the page"));
    }
    for name in known.keys().filter(|n| n.starts_with("IOCTL_") && !ioctls.contains(*n)) {
        errors.push(format!("`{name}` has no row in the IOCTL table"));
    }
}

fn check_status_tables(tables: &[Table], errors: &mut Vec<String>) {
    let statuses: BTreeSet<&str> = STATUS_NAMES.iter().map(|(_, n)| *n).collect();
    let status_tables: Vec<&Table> = tables.iter().filter(|t| t.kind == TableKind::Statuses).collect();
    for t in &status_tables {
        for row in &t.rows {
            if !statuses.contains(unquote(&row.cells[0])) {
                errors.push(format!(
                    "docs/protocol.md:{}: `{}` is not a status the crate defines",
                    row.line, row.cells[0]
                ));
            }
        }
    }
    let known = code::named_values();
    let sections: BTreeSet<&str> =
        known.keys().filter(|n| n.starts_with("IOCTL_")).map(|n| status_section(n)).collect();
    for section in sections {
        if !status_tables.iter().any(|t| unquote(&t.heading) == section) {
            errors.push(format!("`{section}` has no `| status | when |` table under a heading of its name"));
        }
    }
}

fn check_named_numbers(doc: &str, errors: &mut Vec<String>) {
    let mut names = code::named_values();
    names.extend(code::structs().iter().map(|s| (s.name.to_string(), s.size as u64)));
    names.extend(code::win32_errors());
    for n in named_numbers(&flat(doc)) {
        let line = line_of(doc, n.number.start);
        match (names.get(&n.name), parse_number(&n.number.text)) {
            (None, _) => errors.push(format!(
                "docs/protocol.md:{line}: `{}` followed by {}: not a value the test knows (write the number elsewhere, or teach the test)",
                n.name, n.number.text
            )),
            (Some(&v), page) if page != Some(v) => {
                errors.push(format!("docs/protocol.md:{line}: `{}` is {} on the page, {v} in the code", n.name, n.number.text))
            }
            _ => {}
        }
    }
}

fn check_claims(doc: &str, errors: &mut Vec<String>) {
    let page = flat(doc);
    let on_page = |phrase: &str| !phrase_spans(&page, phrase).is_empty();
    let claims = claims::CLAIMS.iter().map(|(p, _)| *p);
    let all = claims.chain(claims::EXEMPT.iter().map(|(p, _)| *p)).chain(DRIVER_CLAIMS.iter().copied());
    for phrase in all.filter(|p| !on_page(p)) {
        errors.push(format!("`{phrase}` is no longer on the page: update its list in tests/protocol_doc"));
    }
}

/// The byte ranges of the page whose numbers a check covers.
fn covered(doc: &str, tables: &[Table]) -> Vec<(usize, usize)> {
    let mut covered = Vec::new();
    for t in tables {
        for row in &t.rows {
            covered.extend(t.checked_columns().iter().map(|&c| row.cell_span(c)));
            if t.kind == TableKind::Struct && row.cells[2].starts_with("`reserved") {
                covered.push(row.cell_span(4)); // checked in `check_structs`
            }
        }
    }
    let page = flat(doc);
    covered.extend(named_numbers(&page).iter().map(|n| (n.number.start, n.number.end)));
    let claims = claims::CLAIMS.iter().map(|(p, _)| *p);
    for phrase in claims.chain(claims::EXEMPT.iter().map(|(p, _)| *p)).chain(DRIVER_CLAIMS.iter().copied()) {
        covered.extend(phrase_spans(&page, phrase));
    }
    covered
}

fn check_coverage(doc: &str, tables: &[Table], errors: &mut Vec<String>) {
    // Sorted by start, with the furthest end reached so far: a number is
    // inside a covered range if one starting at or before it reaches its end.
    let mut covered = covered(doc, tables);
    covered.sort_unstable();
    let reach: Vec<usize> = covered
        .iter()
        .scan(0, |max, &(_, end)| {
            *max = end.max(*max);
            Some(*max)
        })
        .collect();
    for (line, n) in page_numbers(doc) {
        let before = covered.partition_point(|&(s, _)| s <= n.start);
        if before == 0 || reach[before - 1] < n.end {
            errors.push(format!(
                "docs/protocol.md:{line}: {} is checked by nothing: write it as `NAME` = {} or `NAME` ({} ...), \
                 put it in a checked table, or give it a claim (with a check) or an exemption (with a reason) \
                 in tests/protocol_doc/claims.rs",
                n.text, n.text, n.text
            ));
        }
    }
}

/// The page's claims, against the crate (this does not depend on the
/// page's text, only on the claims being on it: see [`check_claims`]).
#[test]
fn every_rule_the_page_states_with_a_number_holds() {
    let failed: Vec<String> = claims::CLAIMS
        .iter()
        .filter_map(|(phrase, check)| check().err().map(|e| format!("the page says `{phrase}`, but {e}")))
        .collect();
    assert!(failed.is_empty(), "{}", failed.join("\n"));
}

#[test]
fn the_page_agrees_with_the_code() {
    let errors = check(DOC);
    assert!(errors.is_empty(), "docs/protocol.md and kchan-proto disagree:\n{}", errors.join("\n"));
}

/// The byte ranges of the page that the driver's test checks and this one
/// does not: its tables' values and its claims.
fn checked_by_the_driver_test(doc: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    for t in tables(doc).iter().filter(|t| matches!(t.kind, TableKind::DriverLimits | TableKind::DefaultSubscription)) {
        for row in &t.rows {
            spans.extend(t.checked_columns().iter().map(|&c| row.cell_span(c)));
        }
    }
    let page = flat(doc);
    for phrase in DRIVER_CLAIMS {
        spans.extend(phrase_spans(&page, phrase));
    }
    spans
}

#[test]
fn changing_any_number_on_the_page_fails_the_check() {
    assert!(check(DOC).is_empty(), "the page must pass first");
    let driver = checked_by_the_driver_test(DOC);
    let mut changed = 0;
    for (line, n) in page_numbers(DOC) {
        if driver.iter().any(|&(s, e)| s <= n.start && n.end <= e) {
            continue;
        }
        assert!(
            !check(&with_number_changed(DOC, &n)).is_empty(),
            "docs/protocol.md:{line}: changing {} to {} went unnoticed",
            n.text,
            bumped(&n.text)
        );
        changed += 1;
    }
    assert!(changed > 300, "only {changed} numbers found on the page");
}

#[test]
fn removing_any_structure_field_or_named_value_fails_the_check() {
    let mut removed = 0;
    for t in tables(DOC).iter().filter(|t| matches!(t.kind, TableKind::Struct | TableKind::Named)) {
        for row in &t.rows {
            assert!(
                !check(&without_line(DOC, row.line)).is_empty(),
                "docs/protocol.md:{}: removing `{}` went unnoticed",
                row.line,
                row.cells[0]
            );
            removed += 1;
        }
    }
    assert!(removed > 100, "only {removed} rows found");
}

#[test]
fn the_crate_defines_nothing_the_check_leaves_out() {
    let undeclared = code::undeclared();
    assert!(undeclared.is_empty(), "{}", undeclared.join("\n"));
}

#[test]
fn the_page_stands_alone() {
    assert!(!DOC.contains("shared/"), "the page refers to a file outside the repository");
    assert!(DOC.contains(kchan_proto::DEVICE_PATH), "the page names the device");
}

#[cfg(not(windows))]
#[test]
fn the_pages_links_lead_to_files_of_the_repository() {
    use markdown::prose_lines;
    let docs = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs");
    for (line, text) in prose_lines(DOC) {
        for (at, _) in text.match_indices("](") {
            let target = text[at + 2..].split(')').next().unwrap_or("");
            let file = target.split('#').next().unwrap_or("");
            if file.is_empty() || file.contains("://") {
                continue;
            }
            assert!(docs.join(file).exists(), "docs/protocol.md:{line}: {target} does not exist");
        }
    }
}

/// Under Wine (the Windows layer runs this crate's tests there), the
/// system's own mapping of each status to its Win32 error.
#[cfg(windows)]
#[test]
fn each_status_turns_into_the_win32_error_the_page_names() {
    use windows_sys::Win32::Foundation::RtlNtStatusToDosError;
    let win32 = code::win32_errors();
    let table = tables(DOC).into_iter().find(|t| t.column("Win32 error").is_some()).expect("the status table");
    let column = table.column("Win32 error").unwrap();
    for row in &table.rows {
        let status = value_cell(&row.cells[1]).unwrap() as u32 as i32;
        let named = named_numbers(&row.cells[column]).into_iter().next().unwrap().name;
        // SAFETY: a pure mapping (it also sets the thread's last status).
        let mapped = unsafe { RtlNtStatusToDosError(status) };
        assert_eq!(u64::from(mapped), win32[&named], "{}: {named}", row.cells[0]);
    }
}
