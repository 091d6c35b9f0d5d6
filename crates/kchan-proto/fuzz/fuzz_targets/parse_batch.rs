//! Batch parser: never panics; what it accepts is internally consistent.
#![no_main]
use kchan_proto::{parse_batch, record_size, Record, BATCH_HEADER_SIZE};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(reader) = parse_batch(data) {
        let total = reader.header().total_bytes as usize;
        let count = reader.header().record_count as usize;
        let mut bytes = BATCH_HEADER_SIZE;
        let mut n = 0;
        for r in reader {
            n += 1;
            bytes += match r {
                Record::Event { payload, .. } => record_size(payload.len()),
                Record::Gap { count, .. } => {
                    assert!(count > 0);
                    kchan_proto::GAP_RECORD_SIZE
                }
            };
        }
        assert_eq!(n, count);
        assert_eq!(bytes, total);
    }
});
