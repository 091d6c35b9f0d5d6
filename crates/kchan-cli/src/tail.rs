//! `kchan tail`: the events themselves, from now on, as lines on stdout.
//!
//! - From now: the command opens its own handle and subscribes at once; an
//!   open handle is no subscriber in the driver until it subscribes, so its
//!   stream starts there (sequence numbers from 0) and nothing published
//!   before it shows.
//! - Batches: each completed receive is formatted into one buffer and
//!   written with one call, so output keeps pace with the stream (a line per
//!   write would not) and a batch is on its way as soon as it arrives.
//! - Nothing lost silently: when stdout is slower than the source, the
//!   driver's ring overflows and its gap records come out as gap lines,
//!   where the loss happened. The summary on stderr counts them.
//! - A reader that goes away (`| head -5`) ends the command with exit 0 and
//!   nothing but the summary on stderr.

use crate::lines::{EventLine, Format, GapLine, Lines};
use crate::names::DeviceName;
use crate::wallclock::{self, WallClock};
use crate::{commands, ctrl_c, TailArgs};
use kchan::proto::Record;
use kchan::{Error, SubscribeOptions, Subscription};
use std::io::{ErrorKind, Write};
use std::time::{Duration, Instant};

/// How often the (counter, system time) pair is read again.
const CLOCK_REFRESH: Duration = Duration::from_secs(1);
/// Longest blocking wait, so `--seconds` and Ctrl-C are seen in time.
const WAIT_SLICE: Duration = Duration::from_secs(1);

/// What was written: events, gap lines, and the events the gaps report lost.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    events: u64,
    gaps: u64,
    lost: u64,
}

/// Why the stream ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum End {
    Count,
    Time,
    Interrupted,
    OutputClosed,
}

/// Streams until `--count`, `--seconds`, Ctrl-C or a closed output.
pub fn run(args: TailArgs, name: &DeviceName) -> Result<(), String> {
    let device = commands::open(name)?;
    let mut options = SubscribeOptions::new();
    if let Some(mask) = args.kinds {
        options = options.kinds(mask);
    }
    if let Some(bytes) = args.ring_bytes {
        options = options.ring_bytes(bytes);
    }
    let mut sub = device.subscribe(options).map_err(|e| match e {
        Error::Request { .. } if args.ring_bytes.is_some() => format!("{e} (is --ring-bytes within its limits?)"),
        e => e.to_string(),
    })?;
    ctrl_c::install(sub.wakeup());
    let format = if args.json { Format::Json } else { Format::Text { max_bytes: args.max_bytes } };
    let start = Instant::now();
    let mut totals = Totals::default();
    let end = stream(&mut sub, &args, format, &mut totals);
    let seconds = start.elapsed().as_secs_f64();
    let why = match end {
        Ok(End::Count) => "count reached",
        Ok(End::Time) => "time up",
        Ok(End::Interrupted) => "interrupted",
        Ok(End::OutputClosed) => "output closed",
        Err(_) => "failed",
    };
    eprintln!(
        "kchan tail: {} events, {} gaps, {} lost in {seconds:.2} s ({why})",
        totals.events, totals.gaps, totals.lost
    );
    end.map(drop)
}

/// Writes lines until the stream ends, counting in `written` what reached
/// the output (so the summary is right however it ends).
fn stream(sub: &mut Subscription, args: &TailArgs, format: Format, written: &mut Totals) -> Result<End, String> {
    let deadline = args.seconds.map(|s| Instant::now() + Duration::from_secs_f64(s));
    let mut clock = WallClock::new(wallclock::sample());
    let mut sampled = Instant::now();
    let mut lines = Lines::new(format);
    let mut out = Vec::with_capacity(1 << 20);
    let stdout = std::io::stdout();
    let mut stdout = stdout.lock();
    loop {
        if ctrl_c::stopped() {
            return Ok(End::Interrupted);
        }
        let now = Instant::now();
        let timeout = match deadline {
            Some(d) if now >= d => return Ok(End::Time),
            Some(d) => (d - now).min(WAIT_SLICE),
            None => WAIT_SLICE,
        };
        let Some(batch) = sub
            .next_batch_timeout(timeout)
            .map_err(|e| format!("the stream stopped: {e} (was the driver stopped?)"))?
        else {
            continue;
        };
        if sampled.elapsed() >= CLOCK_REFRESH {
            clock.refresh(wallclock::sample());
            sampled = Instant::now();
        }
        out.clear();
        let mut batch_totals = Totals::default();
        let mut count_reached = false;
        for record in batch.records() {
            match record {
                Record::Event { seq, kind, timestamp, payload } => {
                    let time = clock.time_of(timestamp);
                    lines.event(&mut out, &EventLine { seq, kind, time, qpc: timestamp, payload });
                    batch_totals.events += 1;
                    if args.count.is_some_and(|c| written.events + batch_totals.events >= c) {
                        count_reached = true;
                        break;
                    }
                }
                Record::Gap { first_seq, count, reason, timestamp } => {
                    let time = clock.time_of(timestamp);
                    lines.gap(&mut out, &GapLine { first_seq, count, reason, time, qpc: timestamp });
                    batch_totals.gaps += 1;
                    batch_totals.lost += count;
                }
            }
        }
        match stdout.write_all(&out).and_then(|()| stdout.flush()) {
            Ok(()) => {
                written.events += batch_totals.events;
                written.gaps += batch_totals.gaps;
                written.lost += batch_totals.lost;
            }
            Err(e) if reader_gone(&e) => return Ok(End::OutputClosed),
            Err(e) => return Err(format!("cannot write the output: {e}")),
        }
        if count_reached {
            return Ok(End::Count);
        }
    }
}

/// Whether a write failed because the reading end of a pipe went away:
/// `ERROR_BROKEN_PIPE` or `ERROR_NO_DATA` from a Windows pipe (std calls
/// both `BrokenPipe`), or `ERROR_PIPE_NOT_CONNECTED` (233), which Wine
/// reports for a Linux pipe whose reader exited.
fn reader_gone(e: &std::io::Error) -> bool {
    const ERROR_PIPE_NOT_CONNECTED: i32 = 233;
    e.kind() == ErrorKind::BrokenPipe || e.raw_os_error() == Some(ERROR_PIPE_NOT_CONNECTED)
}
