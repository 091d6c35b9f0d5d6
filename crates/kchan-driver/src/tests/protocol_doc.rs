//! `docs/protocol.md` against the driver core (`kchan-proto`'s own test
//! checks the rest of the page against the protocol crate): what
//! `kchan.sys` advertises, as the driver replies with the defaults
//! `kchan.sys` uses; the default subscription; the page's claims about the
//! driver; and each IOCTL's status table against the statuses the driver
//! completes it with, every one of them provoked ([`statuses`]). The
//! mutation tests change each of these numbers and remove each of these
//! rows in turn and require the check to notice.

// Shared with kchan-proto's test of the page, which uses all of it.
#[allow(dead_code)]
#[path = "../../../kchan-proto/tests/protocol_doc/markdown.rs"]
mod markdown;
mod statuses;

use crate::fake::FakeIo;
use crate::tests::flow::{inject_message, stats, RW};
use crate::{Config, NtStatus};
use kchan_proto::zerocopy::IntoBytes;
use kchan_proto::*;
use markdown::{
    flat, page_numbers, phrase_spans, tables, unquote, value_cell, with_number_changed, without_line, TableKind, DOC,
    DRIVER_CLAIMS,
};
use statuses::{provoke_every_status, Seen};
use std::collections::{BTreeMap, BTreeSet};

/// What the driver replies, for the rows of the `kchan.sys` table.
fn advertised() -> BTreeMap<&'static str, u64> {
    let io = FakeIo::new(Config::default());
    let (h, _) = io.open(RW);
    let sent = io.ioctl(&h, IOCTL_VERSION, &[], core::mem::size_of::<VersionInfo>());
    let v = VersionInfo::parse(&sent.irp.completion().unwrap().output).unwrap();
    let s = stats(&io, &h);
    // The smallest ring a SUBSCRIBE gets, probed in steps of the alignment.
    let smallest = (RECORD_ALIGN..=v.max_ring_bytes as usize).step_by(RECORD_ALIGN).find(|&ring| {
        let cfg = SubscribeConfig { ring_bytes: ring as u32, ..SubscribeConfig::default() };
        io.ioctl(&h, IOCTL_SUBSCRIBE, cfg.as_bytes(), 0).status == STATUS_SUCCESS
    });
    io.unload();
    BTreeMap::from([
        ("max_record_payload", u64::from(v.max_record_payload)),
        ("max_batch_bytes", u64::from(v.max_batch_bytes)),
        ("min_recv_bytes", u64::from(v.min_recv_bytes)),
        ("max_ring_bytes", u64::from(v.max_ring_bytes)),
        ("max_in_flight", u64::from(v.max_in_flight)),
        ("max_inject_bytes", u64::from(v.max_inject_bytes)),
        ("smallest ring", smallest.unwrap_or(0) as u64),
        ("max_subscribers", s.channel.max_subscribers),
        ("ring_budget_bytes", s.ring_budget_bytes),
    ])
}

/// The default subscription's fields (a field added to `SubscribeConfig`
/// stops this from compiling until it is listed).
fn default_subscription() -> BTreeMap<&'static str, u64> {
    let SubscribeConfig {
        version,
        flags,
        kind_mask,
        ring_bytes,
        max_in_flight,
        overflow,
        completion,
        min_records,
        max_delay_us,
        fill_percent,
        reserved,
    } = Config::default().default_subscription;
    BTreeMap::from([
        ("version", u64::from(version)),
        ("flags", u64::from(flags)),
        ("kind_mask", kind_mask),
        ("ring_bytes", u64::from(ring_bytes)),
        ("max_in_flight", u64::from(max_in_flight)),
        ("overflow", u64::from(overflow)),
        ("completion", u64::from(completion)),
        ("min_records", u64::from(min_records)),
        ("max_delay_us", u64::from(max_delay_us)),
        ("fill_percent", u64::from(fill_percent)),
        ("reserved", u64::from(reserved)),
    ])
}

/// The name a default's annotation gives its value (`0 (`DropNewest`)`).
fn policy_name(field: &str, value: u64) -> Option<String> {
    let value = u32::try_from(value).ok()?;
    match field {
        "overflow" => OverflowPolicy::from_raw(value).map(|p| format!("{p:?}")),
        "completion" => CompletionPolicy::from_raw(value).map(|p| format!("{p:?}")),
        _ => None,
    }
}

/// The check of each of [`DRIVER_CLAIMS`].
fn driver_claim(phrase: &str) -> Option<fn() -> Result<(), String>> {
    Some(match phrase {
        "from 0 for a newly attached subscriber" => first_sequence_number_is_0,
        "0 for the others" => byte_counts,
        _ => return None,
    })
}

fn first_sequence_number_is_0() -> Result<(), String> {
    let io = FakeIo::new(Config::default());
    let (h, _) = io.open(RW);
    io.ioctl(&h, IOCTL_SUBSCRIBE, SubscribeConfig::default().as_bytes(), 0);
    io.ioctl(&h, IOCTL_INJECT, &inject_message(&[(1, b"first")]), 0);
    let recv = io.ioctl(&h, IOCTL_RECV, &[], io.device.config().limits.min_recv_bytes());
    io.unload();
    let output = recv.irp.completion().ok_or("the receive did not complete")?.output;
    match parse_batch(&output).map_err(|e| e.to_string())?.next() {
        Some(Record::Event { seq: 0, .. }) => Ok(()),
        other => Err(format!("the first record is {other:?}")),
    }
}

/// The byte count of each completed request: what the driver wrote.
fn byte_counts() -> Result<(), String> {
    let io = FakeIo::new(Config::default());
    let (h, _) = io.open(RW);
    let reply = core::mem::size_of::<StatsReply>();
    let min = io.device.config().limits.min_recv_bytes();
    let requests = [
        (IOCTL_VERSION, vec![], 1000, Some(core::mem::size_of::<VersionInfo>())),
        (IOCTL_STATS, vec![], reply + 100, Some(reply)),
        (IOCTL_STATS, vec![], reply - 8, Some(reply - 8)),
        (IOCTL_SUBSCRIBE, SubscribeConfig::default().as_bytes().to_vec(), 100, Some(0)),
        (IOCTL_INJECT, inject_message(&[(1, b"abc")]), 100, Some(0)),
        (IOCTL_RECV, vec![], min, None),
    ];
    let mut wrong = Vec::new();
    for (code, input, out, expected) in requests {
        let done = io.ioctl(&h, code, &input, out).irp.completion().ok_or("a request did not complete")?;
        let expected = expected.unwrap_or_else(|| {
            BatchReader::of_validated(&done.output).header().total_bytes as usize
            // a batch: its size
        });
        if done.information != expected || done.status != STATUS_SUCCESS {
            wrong.push(format!("code {code:#x}: {} bytes ({:#x}), not {expected}", done.information, done.status));
        }
    }
    io.unload();
    if wrong.is_empty() {
        Ok(())
    } else {
        Err(wrong.join("; "))
    }
}

fn status_value(name: &str) -> Option<NtStatus> {
    STATUS_NAMES.iter().find(|(_, n)| *n == name).map(|(v, _)| *v)
}

/// Everything the page states about the driver that disagrees with it.
fn check(doc: &str, seen: &Seen, advertised: &BTreeMap<&str, u64>) -> Vec<String> {
    let mut errors = Vec::new();
    let tables = tables(doc);
    let defaults = default_subscription();
    for (kind, truth) in [(TableKind::DriverLimits, advertised), (TableKind::DefaultSubscription, &defaults)] {
        let mut listed = BTreeSet::new();
        for row in tables.iter().filter(|t| t.kind == kind).flat_map(|t| &t.rows) {
            let name = unquote(&row.cells[0]);
            let at = format!("docs/protocol.md:{}: `{name}`", row.line);
            match (truth.get(name), value_cell(&row.cells[1])) {
                (_, Err(e)) => errors.push(format!("{at}: {e}")),
                (None, _) => errors.push(format!("{at} is not a value this test knows")),
                (Some(&v), Ok(page)) if v != page => {
                    errors.push(format!("{at} is {page} on the page, {v} in the driver"))
                }
                (Some(&v), Ok(_)) => {
                    let annotated = row.cells[1].split('`').nth(1);
                    if annotated.is_some() && annotated.map(str::to_string) != policy_name(name, v) {
                        errors.push(format!("{at}: {v} is {:?}", policy_name(name, v)));
                    }
                }
            }
            listed.insert(name);
        }
        for name in truth.keys().filter(|n| !listed.contains(*n)) {
            errors.push(format!("`{name}` is missing from the page's {kind:?} table"));
        }
    }
    let page = flat(doc);
    for phrase in DRIVER_CLAIMS {
        if phrase_spans(&page, phrase).is_empty() {
            errors.push(format!("`{phrase}` is no longer on the page"));
        }
        if driver_claim(phrase).is_none() {
            errors.push(format!("nothing checks `{phrase}`"));
        }
    }
    let mut headings = BTreeSet::new();
    for t in tables.iter().filter(|t| t.kind == TableKind::Statuses) {
        let heading = unquote(&t.heading);
        headings.insert(heading.to_string());
        let listed: BTreeSet<NtStatus> = t.rows.iter().filter_map(|r| status_value(unquote(&r.cells[0]))).collect();
        let provoked = seen.0.get(heading).cloned().unwrap_or_default();
        for s in provoked.difference(&listed) {
            errors.push(format!(
                "`{heading}`: the driver completes it with {} but the page does not say so",
                name_of(*s)
            ));
        }
        for s in listed.difference(&provoked) {
            errors.push(format!("`{heading}`: the page lists {}, which the test never provoked", name_of(*s)));
        }
    }
    for heading in seen.0.keys().filter(|h| !headings.contains(**h)) {
        errors.push(format!("no status table under `{heading}`"));
    }
    errors
}

fn name_of(status: NtStatus) -> String {
    status_name(status).map_or_else(|| format!("{status:#x}"), str::to_string)
}

#[test]
fn the_kchan_sys_tables_and_the_status_lists_agree_with_the_driver() {
    let errors = check(DOC, &provoke_every_status(), &advertised());
    assert!(errors.is_empty(), "docs/protocol.md and the driver disagree:\n{}", errors.join("\n"));
}

#[test]
fn every_claim_the_page_makes_about_the_driver_holds() {
    for phrase in DRIVER_CLAIMS {
        let check = driver_claim(phrase).unwrap_or_else(|| panic!("nothing checks `{phrase}`"));
        if let Err(e) = check() {
            panic!("the page says `{phrase}`, but {e}");
        }
    }
}

#[test]
fn every_ioctl_is_provoked() {
    let seen = provoke_every_status();
    for (name, _) in statuses::IOCTLS {
        assert!(seen.0.contains_key(markdown::status_section(name)), "{name}");
    }
    assert!(seen.0.contains_key(statuses::COMMON));
}

#[test]
fn kchan_sys_uses_the_librarys_defaults() {
    // What the `kchan.sys` table stands on: its DriverEntry (a kernel
    // crate, not built for the host) passes the library's defaults.
    let entry = include_str!("../../../kchan-sys/src/lib.rs");
    assert!(entry.contains("config: Config::default(),"), "kchan.sys no longer uses Config::default()");
}

#[test]
fn changing_any_number_this_test_checks_fails_it() {
    let (seen, advertised) = (provoke_every_status(), advertised());
    assert!(check(DOC, &seen, &advertised).is_empty(), "the page must pass first");
    let mut spans = Vec::new();
    for t in tables(DOC).iter().filter(|t| matches!(t.kind, TableKind::DriverLimits | TableKind::DefaultSubscription)) {
        for row in &t.rows {
            spans.extend(t.checked_columns().iter().map(|&c| row.cell_span(c)));
        }
    }
    let page = flat(DOC);
    for phrase in DRIVER_CLAIMS {
        spans.extend(phrase_spans(&page, phrase));
    }
    let mut changed = 0;
    for (line, n) in page_numbers(DOC) {
        if spans.iter().any(|&(s, e)| s <= n.start && n.end <= e) {
            let page = with_number_changed(DOC, &n);
            assert!(
                !check(&page, &seen, &advertised).is_empty(),
                "docs/protocol.md:{line}: changing {} went unnoticed",
                n.text
            );
            changed += 1;
        }
    }
    assert!(changed >= 20, "only {changed} numbers changed");
}

#[test]
fn removing_any_row_this_test_checks_fails_it() {
    let (seen, advertised) = (provoke_every_status(), advertised());
    let mut removed = 0;
    for t in tables(DOC) {
        if !matches!(t.kind, TableKind::DriverLimits | TableKind::DefaultSubscription | TableKind::Statuses) {
            continue;
        }
        for row in &t.rows {
            assert!(
                !check(&without_line(DOC, row.line), &seen, &advertised).is_empty(),
                "docs/protocol.md:{}: removing `{}` under `{}` went unnoticed",
                row.line,
                row.cells[0],
                t.heading
            );
            removed += 1;
        }
    }
    assert!(removed >= 50, "only {removed} rows removed");
}
