//! Parsing of `--device` and `--service` values (portable, unit-tested).
//!
//! Any driver built on kchan serves the same protocol under a device name of
//! its own, so every command takes `--device NAME` (or `\\.\NAME`) and the
//! `driver` commands a service name. Names are checked here so a typo gets a
//! one-line message instead of an open of some other device.

use std::fmt;

/// The device every command reaches unless told otherwise.
pub const DEFAULT_DEVICE: &str = kchan::proto::DEVICE_NAME;
/// The service `kchan driver` manages unless told otherwise.
pub const DEFAULT_SERVICE: &str = kchan::proto::SERVICE_NAME;

/// A kchan device, by the name its driver created (`\\.\NAME`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceName(String);

impl DeviceName {
    /// The name without the `\\.\` prefix.
    #[cfg_attr(not(windows), allow(dead_code))] // used by the Windows-only commands
    pub fn name(&self) -> &str {
        &self.0
    }

    /// The Win32 path to open, `\\.\NAME`.
    pub fn path(&self) -> String {
        format!(r"\\.\{}", self.0)
    }
}

impl Default for DeviceName {
    fn default() -> Self {
        DeviceName(DEFAULT_DEVICE.into())
    }
}

impl fmt::Display for DeviceName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// Parses `NAME` or `\\.\NAME`: 1 to 100 letters, digits, `_`, `-` or `.`
/// (no other separators, so it cannot name a drive, a pipe or a file).
pub fn parse_device(s: &str) -> Result<DeviceName, String> {
    let name = s.strip_prefix(r"\\.\").unwrap_or(s);
    let ok = (1..=100).contains(&name.len())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'));
    if !ok {
        return Err(format!(
            "`{s}` is not a device name; use letters, digits, `_`, `-` and `.`, e.g. kchan or \\\\.\\kchan"
        ));
    }
    Ok(DeviceName(name.to_string()))
}

/// Parses a service name: 1 to 256 characters, no `/` or `\` (the Service
/// Control Manager's rule), no control characters.
pub fn parse_service(s: &str) -> Result<String, String> {
    let ok = (1..=256).contains(&s.chars().count()) && !s.chars().any(|c| c == '/' || c == '\\' || c.is_control());
    if !ok {
        return Err(format!("`{s}` is not a service name; use 1 to 256 characters without `/` or `\\`"));
    }
    Ok(s.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn device_names_with_or_without_the_prefix() {
        assert_eq!(parse_device("kchan").unwrap().path(), r"\\.\kchan");
        assert_eq!(parse_device(r"\\.\kchan").unwrap(), DeviceName::default());
        assert_eq!(parse_device("my_driver-2.dev").unwrap().name(), "my_driver-2.dev");
        assert_eq!(DeviceName::default().to_string(), r"\\.\kchan");
    }

    #[test]
    fn bad_device_names_are_refused_with_an_example() {
        for bad in ["", r"\\.\", "C:", r"\\?\kchan", "a/b", r"a\b", "two words", &"x".repeat(101), "kchañ"] {
            let e = parse_device(bad).unwrap_err();
            assert!(e.contains("not a device name") && e.contains(r"\\.\kchan"), "{bad}: {e}");
        }
    }

    #[test]
    fn service_names() {
        assert_eq!(parse_service("kchan").unwrap(), "kchan");
        assert_eq!(parse_service("my driver").unwrap(), "my driver");
        assert!(parse_service("").unwrap_err().contains("not a service name"));
        assert!(parse_service(r"a\b").is_err());
        assert!(parse_service("a/b").is_err());
        assert!(parse_service(&"s".repeat(257)).is_err());
    }
}
