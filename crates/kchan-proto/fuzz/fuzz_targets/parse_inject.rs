//! Inject parser: never panics; accepted messages rebuild to the same bytes.
#![no_main]
use kchan_proto::{parse_inject, InjectBuilder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(reader) = parse_inject(data) {
        let mut out = vec![0u8; data.len()];
        let mut b = InjectBuilder::new(&mut out).unwrap();
        for (kind, payload) in reader {
            b.push(kind, payload).unwrap();
        }
        let n = b.finish();
        assert_eq!(n, data.len());
        // Padding bytes may differ; the rebuilt message must parse to the same records.
        assert!(parse_inject(&out).unwrap().eq(parse_inject(data).unwrap()));
    }
});
