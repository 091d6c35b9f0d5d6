//! Parsing of `--kinds` lists and `--data` values (portable, unit-tested).

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
}
