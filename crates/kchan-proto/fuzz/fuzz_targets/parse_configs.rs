//! Fixed-size parsers (subscribe, generator, version, stats): never panic;
//! accepted values validate again.
#![no_main]
use kchan_proto::{GenConfig, StatsReply, SubscribeConfig, VersionInfo};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = SubscribeConfig::parse(data) {
        assert!(c.validate().is_ok());
        let _ = (c.overflow_policy(), c.completion_policy(), c.one_event_per_completion());
    }
    if let Ok(g) = GenConfig::parse(data) {
        assert!(g.validate().is_ok());
    }
    let _ = VersionInfo::parse(data);
    if let Ok(s) = StatsReply::parse(data) {
        let _ = s.subscriber.balanced();
    }
    for e in [SubscribeConfig::parse(data).err(), GenConfig::parse(data).err()].into_iter().flatten() {
        let _ = e.ntstatus();
    }
});
