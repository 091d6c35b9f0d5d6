/*
 * batch.h: checking and reading the batch a completed kchan receive holds.
 *
 * A batch is a KCHAN_BATCH_HEADER and record_count records, each a
 * KCHAN_RECORD_HEADER and its payload padded to 8 bytes; a gap record's
 * payload is a KCHAN_GAP_INFO. The bytes come from the driver, so
 * batch_open checks all of them before anything is printed, and neither
 * function reads outside the bytes it is given. Portable C11 without
 * Win32: crates/kchan-proto/tests/c_batch.rs compiles it on the host and
 * holds it to the Rust parser (kchan_proto::parse_batch), batch by batch.
 */
#ifndef KCHAN_TAIL_BATCH_H
#define KCHAN_TAIL_BATCH_H

#include <stddef.h>
#include <stdint.h>

/* One record of a batch batch_open accepted. */
typedef struct batch_record {
    int is_gap;
    uint64_t seq;           /* event: its sequence number; gap: the first missing */
    uint64_t timestamp;     /* 100 ns ticks; a gap: when the first was lost */
    uint16_t kind;          /* event: 0..KCHAN_MAX_KIND */
    uint32_t len;           /* event: payload bytes */
    const unsigned char *payload; /* event: inside the batch's bytes */
    uint64_t count;         /* gap: how many sequence numbers are missing */
    uint32_t reason;        /* gap: a KCHAN_GAP_REASON_* */
} batch_record;

/* What a checked batch holds. */
typedef struct batch_summary {
    uint32_t records;
    uint64_t first_seq;     /* the first record's sequence number */
    uint64_t end_seq;       /* one past the last record's last sequence number */
    uint64_t events, gaps, lost;
} batch_summary;

/* Where batch_read is in a checked batch. */
typedef struct batch_reader {
    const unsigned char *next;
    size_t bytes_left;
    uint32_t records_left;
} batch_reader;

/*
 * Checks the batch in buf[0..len), len being the bytes the receive
 * returned: the header (total_bytes within len and aligned, known flags,
 * reserved zero), then each record (inside total_bytes, no flags, a known
 * kind, a well-formed gap) and that the records fill total_bytes exactly.
 * Returns NULL, with *summary and *reader set, when all of it holds; else
 * what is wrong, and nothing of the batch is to be used.
 */
const char *batch_open(const unsigned char *buf, size_t len, batch_reader *reader, batch_summary *summary);

/* The next record of a batch batch_open accepted: 1 and *record, or 0 at
 * the end (checked again on the way: never a read outside the batch). */
int batch_read(batch_reader *reader, batch_record *record);

#endif /* KCHAN_TAIL_BATCH_H */
