//! Parsing of `--kinds` lists, `--data`, `--seconds` and `--ring-bytes`
//! values (portable, unit-tested).

use kchan::proto::MAX_KIND;

/// Parses a kind list such as `0,3,8-11` (or `all`) into a filter mask over
/// kinds `0..=MAX_KIND`.
pub fn parse_kinds(list: &str) -> Result<u64, String> {
    if list.trim() == "all" {
        return Ok(u64::MAX);
    }
    let mut mask = 0u64;
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (lo, hi) = match part.split_once('-') {
            Some((a, b)) => (parse_kind(a)?, parse_kind(b)?),
            None => (parse_kind(part)?, parse_kind(part)?),
        };
        if lo > hi {
            return Err(format!("kind range `{part}` is backwards; write it low-high, e.g. 2-5"));
        }
        for k in lo..=hi {
            mask |= 1 << k;
        }
    }
    if mask == 0 {
        return Err("no kinds given; use e.g. --kinds 0,3,8-11 or --kinds all".into());
    }
    Ok(mask)
}

/// Parses one kind, `0..=MAX_KIND`.
pub fn parse_kind(s: &str) -> Result<u16, String> {
    match s.trim().parse::<u16>() {
        Ok(k) if k <= MAX_KIND => Ok(k),
        _ => Err(format!("`{s}` is not a kind; kinds are numbers 0 to {MAX_KIND}")),
    }
}

/// The bytes of a `--data` argument (a newtype, so clap takes it as one value).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Payload(pub Vec<u8>);

/// Parses `--data`: `hex:0a0b...` for bytes, anything else as UTF-8 text.
pub fn parse_data(s: &str) -> Result<Payload, String> {
    let Some(hex) = s.strip_prefix("hex:") else {
        return Ok(Payload(s.as_bytes().to_vec()));
    };
    if hex.len() % 2 != 0 {
        return Err("hex data needs an even number of digits, e.g. --data hex:0a1b".into());
    }
    (0..hex.len())
        .step_by(2)
        .map(|i| {
            u8::from_str_radix(&hex[i..i + 2], 16)
                .map_err(|_| format!("`{}` is not a hex byte; use digits 0-9 and a-f", &hex[i..i + 2]))
        })
        .collect::<Result<_, _>>()
        .map(Payload)
}

/// Parses a duration in seconds: a positive number such as `5` or `0.5`.
pub fn parse_seconds(s: &str) -> Result<f64, String> {
    match s.trim().parse::<f64>() {
        Ok(v) if v.is_finite() && v > 0.0 => Ok(v),
        _ => Err(format!("`{s}` is not a duration; give seconds as a positive number, e.g. 5 or 0.5")),
    }
}

/// Parses a ring size: bytes, or with a `K` or `M` suffix (KiB, MiB); a
/// multiple of 8 (the record alignment), at most 1 GiB. The driver may ask
/// for more (it refuses rings smaller than its largest record).
pub fn parse_ring_bytes(s: &str) -> Result<u32, String> {
    let t = s.trim();
    let (digits, unit) = match t.char_indices().last() {
        Some((i, 'K' | 'k')) => (&t[..i], 1u64 << 10),
        Some((i, 'M' | 'm')) => (&t[..i], 1u64 << 20),
        _ => (t, 1),
    };
    let max = u64::from(kchan::proto::MAX_RING_BYTES);
    match digits.parse::<u64>().map(|n| n.saturating_mul(unit)) {
        Ok(n) if n > 0 && n <= max && n % 8 == 0 => Ok(n as u32),
        _ => Err(format!("`{s}` is not a ring size; give bytes, a multiple of 8 up to 1G, e.g. 65536, 64K or 4M")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_lists_and_ranges() {
        assert_eq!(parse_kinds("0").unwrap(), 1);
        assert_eq!(parse_kinds("0,3,8-11").unwrap(), 1 | 1 << 3 | 0xF << 8);
        assert_eq!(parse_kinds("all").unwrap(), u64::MAX);
        assert_eq!(parse_kinds("63").unwrap(), 1 << 63);
    }

    #[test]
    fn bad_kinds_say_what_to_write() {
        assert!(parse_kinds("64").unwrap_err().contains("0 to 63"));
        assert!(parse_kinds("5-2").unwrap_err().contains("low-high"));
        assert!(parse_kinds("x").unwrap_err().contains("not a kind"));
        assert!(parse_kinds("").unwrap_err().contains("no kinds"));
    }

    #[test]
    fn data_as_text_or_hex() {
        assert_eq!(parse_data("hi").unwrap().0, b"hi");
        assert_eq!(parse_data("hex:00ff10").unwrap().0, [0, 255, 16]);
        assert!(parse_data("hex:0").is_err());
        assert!(parse_data("hex:zz").is_err());
    }

    #[test]
    fn seconds_are_positive_numbers() {
        assert_eq!(parse_seconds("2").unwrap(), 2.0);
        assert_eq!(parse_seconds("0.25").unwrap(), 0.25);
        for bad in ["0", "-1", "soon", "inf", "NaN", ""] {
            assert!(parse_seconds(bad).unwrap_err().contains("positive number"), "{bad}");
        }
    }

    #[test]
    fn ring_sizes_in_bytes_kib_or_mib() {
        assert_eq!(parse_ring_bytes("65536").unwrap(), 65536);
        assert_eq!(parse_ring_bytes("64K").unwrap(), 65536);
        assert_eq!(parse_ring_bytes("4m").unwrap(), 4 << 20);
        for bad in ["0", "1001", "2G", "4096M", "x", "K", ""] {
            assert!(parse_ring_bytes(bad).unwrap_err().contains("not a ring size"), "{bad}");
        }
    }
}
