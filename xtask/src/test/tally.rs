//! Counting what the test layers report: libtest's summaries, and the lint
//! checks kept apart from them.

/// Sums of libtest results.
#[derive(Default, Debug, PartialEq, Eq, Clone, Copy)]
pub struct Tally {
    /// Tests that passed.
    pub passed: u64,
    /// Tests that failed (plus one per layer that failed without a summary,
    /// ran past a time limit, or reported fewer tests than its floor).
    pub failed: u64,
    /// Tests marked `#[ignore]`, reported as skipped, never as passed.
    pub skipped: u64,
}

impl Tally {
    /// One failure that no libtest summary reports.
    pub const ONE_FAILURE: Tally = Tally { passed: 0, failed: 1, skipped: 0 };

    /// Adds `other` to this tally.
    pub fn add(&mut self, other: Tally) {
        self.passed += other.passed;
        self.failed += other.failed;
        self.skipped += other.skipped;
    }

    /// Tests that ran (passed or failed).
    pub fn ran(&self) -> u64 {
        self.passed + self.failed
    }

    /// Reads one libtest summary line, e.g.
    /// `test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; ...`.
    pub fn parse_summary(line: &str) -> Option<Tally> {
        let rest = line.trim().strip_prefix("test result: ")?;
        let (_, counts) = rest.split_once(". ")?;
        if !counts.contains(" passed") {
            return None;
        }
        let mut tally = Tally::default();
        for part in counts.split(';') {
            let mut words = part.split_whitespace();
            let (Some(n), Some(what)) = (words.next().and_then(|n| n.parse::<u64>().ok()), words.next()) else {
                continue; // "finished in 0.01s" and the like
            };
            match what {
                "passed" => tally.passed = n,
                "failed" => tally.failed = n,
                "ignored" => tally.skipped = n,
                _ => {}
            }
        }
        Some(tally)
    }

    /// `N passed, M failed[, K skipped]`.
    pub fn line(&self) -> String {
        let skipped = if self.skipped > 0 { format!(", {} skipped", self.skipped) } else { String::new() };
        format!("{} passed, {} failed{skipped}", self.passed, self.failed)
    }
}

/// Lint checks: each one passes or fails as a whole; never test counts.
#[derive(Default, Debug, PartialEq, Eq, Clone, Copy)]
pub struct Checks {
    /// Checks that passed.
    pub passed: u64,
    /// Checks that failed.
    pub failed: u64,
}

impl Checks {
    /// `checks: N passed, M failed`: a line the test total's pattern
    /// (`^N passed, M failed`) does not match.
    pub fn line(&self) -> String {
        format!("checks: {} passed, {} failed", self.passed, self.failed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libtest_summaries() {
        let ok = "test result: ok. 12 passed; 0 failed; 1 ignored; 0 measured; 0 filtered out; finished in 0.01s";
        assert_eq!(Tally::parse_summary(ok), Some(Tally { passed: 12, failed: 0, skipped: 1 }));
        let bad = "test result: FAILED. 3 passed; 2 failed; 0 ignored; 0 measured; 0 filtered out; finished in 1.2s";
        assert_eq!(Tally::parse_summary(bad), Some(Tally { passed: 3, failed: 2, skipped: 0 }));
        assert_eq!(Tally::parse_summary("running 3 tests"), None);
        assert_eq!(Tally::parse_summary("test result: garbage"), None);
    }

    #[test]
    fn the_checks_line_is_not_taken_for_the_test_total() {
        let ci_total = |line: &str| {
            let mut words = line.split(' ');
            words.next().is_some_and(|n| n.parse::<u64>().is_ok())
                && line.contains(" passed, ")
                && line.contains(" failed")
        };
        assert!(ci_total(&Tally { passed: 5, failed: 1, skipped: 0 }.line()));
        assert!(!ci_total(&Checks { passed: 3, failed: 0 }.line()));
    }
}
