/*
 * batch.c: checking and reading a batch (see batch.h).
 *
 * Structures are copied out of the buffer with memcpy: the driver's bytes
 * are not trusted to be aligned for them, and memcpy is how C reads one
 * type's bytes as another without undefined behaviour.
 */
#include "batch.h"

#include <string.h>

#include <kchan.h>

/* Bytes a record with a payload of len bytes takes: header, payload, padding. */
static uint64_t record_bytes(uint32_t len)
{
    uint64_t padded = ((uint64_t)len + (KCHAN_RECORD_ALIGN - 1)) & ~(uint64_t)(KCHAN_RECORD_ALIGN - 1);
    return sizeof(KCHAN_RECORD_HEADER) + padded;
}

/* Decodes the record at p, with avail bytes of the batch left from p;
 * sets *record and *size (its bytes, padding included). NULL if it holds. */
static const char *decode(const unsigned char *p, size_t avail, batch_record *record, size_t *size)
{
    KCHAN_RECORD_HEADER header;
    KCHAN_GAP_INFO gap;
    uint64_t bytes;

    if (avail < sizeof header)
        return "a record header runs past the end of the batch";
    memcpy(&header, p, sizeof header);
    bytes = record_bytes(header.len);
    if (bytes > avail)
        return "a record's payload runs past the end of the batch";
    if (header.flags != 0)
        return "a record has flags set";
    memset(record, 0, sizeof *record);
    record->seq = header.seq;
    record->timestamp = header.timestamp;
    if (header.kind == KCHAN_KIND_GAP) {
        if (header.len != sizeof gap)
            return "a gap record's payload is not a KCHAN_GAP_INFO";
        memcpy(&gap, p + sizeof header, sizeof gap);
        if (gap.reason != KCHAN_GAP_REASON_RING_FULL && gap.reason != KCHAN_GAP_REASON_OVERWRITTEN)
            return "a gap record has an unknown reason";
        if (gap.count == 0 || gap.reserved != 0 || gap.first_seq != header.seq ||
            gap.count > UINT64_MAX - gap.first_seq)
            return "a gap record's range is malformed";
        record->is_gap = 1;
        record->count = gap.count;
        record->reason = gap.reason;
    } else if (header.kind <= KCHAN_MAX_KIND) {
        record->kind = header.kind;
        record->len = header.len;
        record->payload = p + sizeof header;
    } else {
        return "a record has an unknown kind";
    }
    *size = (size_t)bytes;
    return NULL;
}

const char *batch_open(const unsigned char *buf, size_t len, batch_reader *reader, batch_summary *summary)
{
    KCHAN_BATCH_HEADER header;
    const unsigned char *p;
    size_t left;
    uint32_t i;

    if (len < sizeof header)
        return "shorter than a batch header";
    memcpy(&header, buf, sizeof header);
    if (header.total_bytes < sizeof header)
        return "total_bytes is smaller than the batch header";
    if (header.total_bytes > len)
        return "total_bytes is more than the receive returned";
    if (header.total_bytes % KCHAN_RECORD_ALIGN != 0)
        return "total_bytes is not a multiple of 8";
    if ((header.flags & ~(uint32_t)KCHAN_BATCH_FLAGS_KNOWN) != 0 || header.reserved != 0)
        return "unknown batch flags or reserved bits set";

    memset(summary, 0, sizeof *summary);
    p = buf + sizeof header;
    left = header.total_bytes - sizeof header;
    for (i = 0; i < header.record_count; i++) {
        batch_record record;
        size_t size;
        uint64_t end;
        const char *problem = decode(p, left, &record, &size);
        if (problem != NULL)
            return problem;
        if (record.is_gap) {
            summary->gaps++;
            summary->lost += record.count;
            end = record.seq + record.count; /* decode checked it does not wrap */
        } else {
            summary->events++;
            end = record.seq == UINT64_MAX ? UINT64_MAX : record.seq + 1;
        }
        if (i == 0)
            summary->first_seq = record.seq;
        summary->end_seq = end;
        p += size;
        left -= size;
    }
    if (left != 0)
        return "bytes follow the last record";
    summary->records = header.record_count;
    reader->next = buf + sizeof header;
    reader->bytes_left = header.total_bytes - sizeof header;
    reader->records_left = header.record_count;
    return NULL;
}

int batch_read(batch_reader *reader, batch_record *record)
{
    size_t size;

    if (reader->records_left == 0 || decode(reader->next, reader->bytes_left, record, &size) != NULL)
        return 0;
    reader->next += size;
    reader->bytes_left -= size;
    reader->records_left--;
    return 1;
}
