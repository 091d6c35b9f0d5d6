/*
 * kchan.h: the kchan wire protocol for user-mode C and C++ programs.
 *
 * The IOCTL codes, the structures a request carries or a receive returns,
 * their flags, limits and constants, generated from the Rust crate
 * crates/kchan-proto: field names are the crate's, so its documentation
 * applies word for word. Needs only <stddef.h> and <stdint.h>; every
 * structure's size and field offsets are asserted at the end. A complete
 * client: examples/c-client/.
 */

#ifndef KCHAN_H
#define KCHAN_H

/* Generated from crates/kchan-proto by cbindgen and tests/header.rs: edit the Rust source, not this file. */

#include <stddef.h>
#include <stdint.h>

/*
 * Constants the Rust crate computes (by const fn, from other items, or as
 * strings), written out by tests/header.rs.
 */

/**
 * CTL_CODE(0x22, 0x800, METHOD_BUFFERED, FILE_ANY_ACCESS). Output:
 * KCHAN_VERSION_INFO.
 */
#define KCHAN_IOCTL_VERSION 0x00222000u

/**
 * CTL_CODE(0x22, 0x801, METHOD_BUFFERED, FILE_READ_ACCESS). Input:
 * KCHAN_SUBSCRIBE_CONFIG.
 */
#define KCHAN_IOCTL_SUBSCRIBE 0x00226004u

/**
 * CTL_CODE(0x22, 0x801, METHOD_BUFFERED, FILE_WRITE_ACCESS). The first
 * code of IOCTL_SUBSCRIBE (protocol version 1), still served; send
 * KCHAN_IOCTL_SUBSCRIBE.
 */
#define KCHAN_IOCTL_SUBSCRIBE_WRITE_ACCESS 0x0022A004u

/**
 * CTL_CODE(0x22, 0x802, METHOD_BUFFERED, FILE_READ_ACCESS). Output: a
 * batch (KCHAN_BATCH_HEADER and records); pends until records come.
 */
#define KCHAN_IOCTL_RECV 0x00226008u

/**
 * CTL_CODE(0x22, 0x803, METHOD_BUFFERED, FILE_READ_ACCESS). Output:
 * KCHAN_STATS_REPLY (at least KCHAN_STATS_REPLY_MIN_BYTES).
 */
#define KCHAN_IOCTL_STATS 0x0022600Cu

/**
 * CTL_CODE(0x22, 0x804, METHOD_BUFFERED, FILE_WRITE_ACCESS). Input: an
 * inject message (KCHAN_INJECT_HEADER and records).
 */
#define KCHAN_IOCTL_INJECT 0x0022A010u

/**
 * CTL_CODE(0x22, 0x805, METHOD_BUFFERED, FILE_WRITE_ACCESS). Input:
 * KCHAN_GEN_CONFIG.
 */
#define KCHAN_IOCTL_GEN_START 0x0022A014u

/**
 * CTL_CODE(0x22, 0x806, METHOD_BUFFERED, FILE_WRITE_ACCESS). No input:
 * stops the driver's generator.
 */
#define KCHAN_IOCTL_GEN_STOP 0x0022A018u

/**
 * KCHAN_VERSION_INFO.magic: "KCHN" in little-endian.
 */
#define KCHAN_MAGIC 0x4E48434Bu

/**
 * sizeof(KCHAN_RECORD_HEADER).
 */
#define KCHAN_RECORD_HEADER_SIZE 24

/**
 * sizeof(KCHAN_BATCH_HEADER).
 */
#define KCHAN_BATCH_HEADER_SIZE 16

/**
 * A whole gap record: KCHAN_RECORD_HEADER and KCHAN_GAP_INFO.
 */
#define KCHAN_GAP_RECORD_SIZE 48

/**
 * Smallest IOCTL_STATS output: KCHAN_STATS_REPLY's channel and subscriber.
 */
#define KCHAN_STATS_REPLY_MIN_BYTES 248

/**
 * kchan.sys's device name (\Device\kchan in the kernel).
 */
#define KCHAN_DEVICE_NAME "kchan"

/**
 * kchan.sys's device as user mode opens it.
 */
#define KCHAN_DEVICE_PATH "\\\\.\\kchan"

/**
 * kchan.sys's service name.
 */
#define KCHAN_SERVICE_NAME "kchan"

/**
 * The driver image's file name.
 */
#define KCHAN_DRIVER_FILE "kchan.sys"

/**
 * REG_QWORD under the service key: the ring budget.
 */
#define KCHAN_RING_BUDGET_VALUE "RingBudgetBytes"

/**
 * REG_QWORD: allocations live after the last unload.
 */
#define KCHAN_LEAK_ALLOCS_VALUE "LastUnloadLiveAllocations"

/**
 * REG_QWORD: bytes live after the last unload.
 */
#define KCHAN_LEAK_BYTES_VALUE "LastUnloadLiveBytes"

/**
 * REG_QWORD: event records the last unload found in rings.
 */
#define KCHAN_UNLOAD_DROPPED_RECORDS_VALUE "LastUnloadDroppedRecords"

/**
 * Flag: deliver exactly one event per completed receive (emulates the seed's
 * one-event-per-IOCTL design, for comparisons). A gap record is not an
 * event: it travels with the event after it (or, at the end of the ring,
 * the one before it).
 */
#define KCHAN_ONE_EVENT_PER_COMPLETION 1

/**
 * All subscribe flags defined by this version.
 */
#define KCHAN_SUBSCRIBE_FLAGS_KNOWN KCHAN_ONE_EVENT_PER_COMPLETION

/**
 * Largest `max_delay_us`: one second.
 */
#define KCHAN_MAX_DELAY_US 1000000

/**
 * Largest ring a config may name; a driver's limit may be lower.
 */
#define KCHAN_MAX_RING_BYTES (1 << 30)

/**
 * Largest receives-in-flight limit a config may name.
 */
#define KCHAN_MAX_IN_FLIGHT 1024

/**
 * Largest events-per-wakeup burst.
 */
#define KCHAN_MAX_GEN_BURST 65536

/**
 * Flag: wait for room instead of dropping. Before each chunk the generator
 * checks that every subscriber of its kind has room for the chunk, and
 * yields until they do: a lossless source, as a real source that can
 * hold its events back (a queue, a device with flow control) is.
 */
#define KCHAN_GEN_WAIT_FOR_ROOM 1

/**
 * All generator flags defined by this version.
 */
#define KCHAN_GEN_FLAGS_KNOWN KCHAN_GEN_WAIT_FOR_ROOM

/**
 * Largest inject message, header included.
 */
#define KCHAN_MAX_INJECT_BYTES (64 * 1024)

/**
 * `FILE_DEVICE_UNKNOWN`, the device type of every kchan IOCTL.
 */
#define KCHAN_FILE_DEVICE_UNKNOWN 34

/**
 * `METHOD_BUFFERED`: the I/O manager copies input and output through a system buffer.
 */
#define KCHAN_METHOD_BUFFERED 0

/**
 * `FILE_ANY_ACCESS`.
 */
#define KCHAN_FILE_ANY_ACCESS 0

/**
 * `FILE_READ_ACCESS`.
 */
#define KCHAN_FILE_READ_ACCESS 1

/**
 * `FILE_WRITE_ACCESS`.
 */
#define KCHAN_FILE_WRITE_ACCESS 2

/**
 * Version of this wire protocol. Bumped on any incompatible change; the
 * client checks it with [`IOCTL_VERSION`] and every versioned input carries it.
 */
#define KCHAN_PROTOCOL_VERSION 1

/**
 * Largest record payload the protocol allows (a driver may advertise less).
 */
#define KCHAN_MAX_RECORD_PAYLOAD (16 * 1024)

/**
 * Default largest receive buffer the driver accepts.
 */
#define KCHAN_DEFAULT_MAX_BATCH_BYTES ((4 * 1024) * 1024)

/**
 * Alignment of every record (relative to the start of a batch).
 */
#define KCHAN_RECORD_ALIGN 8

/**
 * Kind of a gap record; its payload is a [`GapInfo`]. Not publishable.
 */
#define KCHAN_KIND_GAP 65535

/**
 * Largest publishable kind: filter masks are `u64` over kinds `0..=MAX_KIND`.
 */
#define KCHAN_MAX_KIND 63

/**
 * Batch flag: more records were waiting when this batch was completed.
 */
#define KCHAN_BATCH_MORE 1

/**
 * Batch flag: the batch contains at least one gap record.
 */
#define KCHAN_BATCH_HAS_GAP 2

/**
 * All batch flags defined by this version.
 */
#define KCHAN_BATCH_FLAGS_KNOWN (KCHAN_BATCH_MORE | KCHAN_BATCH_HAS_GAP)

/**
 * `STATUS_SUCCESS`.
 */
#define KCHAN_STATUS_SUCCESS 0

/**
 * `STATUS_PENDING` (a receive that waits in the driver).
 */
#define KCHAN_STATUS_PENDING 259

/**
 * `STATUS_CANCELLED`: a receive removed by `CancelIoEx` or thread exit.
 */
#define KCHAN_STATUS_CANCELLED (int32_t)3221225760u

/**
 * `STATUS_BUFFER_TOO_SMALL`.
 */
#define KCHAN_STATUS_BUFFER_TOO_SMALL (int32_t)3221225507u

/**
 * `STATUS_INVALID_PARAMETER`.
 */
#define KCHAN_STATUS_INVALID_PARAMETER (int32_t)3221225485u

/**
 * `STATUS_REVISION_MISMATCH`: the protocol version of a request is not ours.
 */
#define KCHAN_STATUS_REVISION_MISMATCH (int32_t)3221225561u

/**
 * `STATUS_NOT_SUPPORTED`.
 */
#define KCHAN_STATUS_NOT_SUPPORTED (int32_t)3221225659u

/**
 * `STATUS_INSUFFICIENT_RESOURCES`: allocation failed or a fixed table is full.
 */
#define KCHAN_STATUS_INSUFFICIENT_RESOURCES (int32_t)3221225626u

/**
 * `STATUS_INVALID_HANDLE`: no subscriber for this file object.
 */
#define KCHAN_STATUS_INVALID_HANDLE (int32_t)3221225480u

/**
 * `STATUS_DELETE_PENDING`: the subscriber is closing.
 */
#define KCHAN_STATUS_DELETE_PENDING (int32_t)3221225558u

/**
 * `STATUS_INVALID_DEVICE_STATE`: the request cannot be served in the current state.
 */
#define KCHAN_STATUS_INVALID_DEVICE_STATE (int32_t)3221225860u

/**
 * `STATUS_INVALID_DEVICE_REQUEST`: an IOCTL code the driver does not know.
 */
#define KCHAN_STATUS_INVALID_DEVICE_REQUEST (int32_t)3221225488u

/**
 * `STATUS_ACCESS_DENIED`: the handle was not opened with the access the
 * request needs (write access for `INJECT`, `GEN_START`, `GEN_STOP`).
 */
#define KCHAN_STATUS_ACCESS_DENIED (int32_t)3221225506u

/**
 * What happens when a record does not fit in a subscriber's ring.
 */
enum KCHAN_OVERFLOW_POLICY
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Keep what is in the ring, drop the new record (counted as `RingFull`). Default.
   */
  KCHAN_OVERFLOW_POLICY_DROP_NEWEST = 0,
  /**
   * Overwrite the oldest records (counted as `Overwritten`).
   */
  KCHAN_OVERFLOW_POLICY_DROP_OLDEST = 1,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum KCHAN_OVERFLOW_POLICY KCHAN_OVERFLOW_POLICY;
#else
typedef uint32_t KCHAN_OVERFLOW_POLICY;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * When a waiting receive is completed. Every policy also completes at once
 * when the waiting records fill the receive buffer or the ring reaches
 * `fill_percent`, so no policy can stall or cause avoidable drops.
 */
enum KCHAN_COMPLETION_POLICY
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Complete as soon as one record waits (lowest latency at low rates). Default.
   */
  KCHAN_COMPLETION_POLICY_IMMEDIATE = 0,
  /**
   * Complete once `min_records` records wait, or the oldest waited `max_delay_us`.
   */
  KCHAN_COMPLETION_POLICY_COALESCE = 1,
  /**
   * After a completion, hold further completions of this subscriber until
   * the consumer has posted back every receive it had out (as many as it
   * ever had pending at once), or the oldest record waited `max_delay_us`.
   * Keeps K receives in flight without paying one completion per event
   * while the consumer is busy.
   */
  KCHAN_COMPLETION_POLICY_ADAPTIVE = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum KCHAN_COMPLETION_POLICY KCHAN_COMPLETION_POLICY;
#else
typedef uint32_t KCHAN_COMPLETION_POLICY;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Why records went missing.
 */
enum KCHAN_GAP_REASON
#if defined(__cplusplus) || __STDC_VERSION__ >= 202311L
  : uint32_t
#endif // defined(__cplusplus) || __STDC_VERSION__ >= 202311L
 {
  /**
   * Drop-newest: the ring was full when these records were published.
   */
  KCHAN_GAP_REASON_RING_FULL = 1,
  /**
   * Drop-oldest: these records were overwritten before anyone read them.
   */
  KCHAN_GAP_REASON_OVERWRITTEN = 2,
};
#ifndef __cplusplus
#if __STDC_VERSION__ >= 202311L
typedef enum KCHAN_GAP_REASON KCHAN_GAP_REASON;
#else
typedef uint32_t KCHAN_GAP_REASON;
#endif // __STDC_VERSION__ >= 202311L
#endif // __cplusplus

/**
 * Reply of [`IOCTL_VERSION`]: what a client needs to size its requests.
 */
typedef struct KCHAN_VERSION_INFO {
  /**
   * [`KCHAN_MAGIC`].
   */
  uint32_t magic;
  /**
   * [`PROTOCOL_VERSION`] of the driver.
   */
  uint32_t protocol_version;
  /**
   * Largest payload a published record may carry.
   */
  uint32_t max_record_payload;
  /**
   * Largest receive output buffer accepted.
   */
  uint32_t max_batch_bytes;
  /**
   * Smallest receive output buffer accepted (a batch header plus the largest record).
   */
  uint32_t min_recv_bytes;
  /**
   * Largest ring a subscriber may ask for, in bytes.
   */
  uint32_t max_ring_bytes;
  /**
   * Largest receives-in-flight limit K a subscriber may ask for.
   */
  uint32_t max_in_flight;
  /**
   * Largest inject message, in bytes.
   */
  uint32_t max_inject_bytes;
} KCHAN_VERSION_INFO;

/**
 * Input of `IOCTL_SUBSCRIBE`. Fields are public for building; the enum-valued
 * ones are raw `u32`s on the wire: use the accessors after [`SubscribeConfig::validate`].
 */
typedef struct KCHAN_SUBSCRIBE_CONFIG {
  /**
   * Must be [`PROTOCOL_VERSION`].
   */
  uint32_t version;
  /**
   * `ONE_EVENT_PER_COMPLETION` and future flags; unknown bits are refused.
   */
  uint32_t flags;
  /**
   * Bit `k` set: receive events of kind `k` (`0..=63`).
   */
  uint64_t kind_mask;
  /**
   * Ring capacity in bytes, a multiple of 8 (the driver bounds it further).
   */
  uint32_t ring_bytes;
  /**
   * Receives in flight limit K, at least 1.
   */
  uint32_t max_in_flight;
  /**
   * An [`OverflowPolicy`] as `u32`.
   */
  uint32_t overflow;
  /**
   * A [`CompletionPolicy`] as `u32`.
   */
  uint32_t completion;
  /**
   * `Coalesce`: complete once this many records wait (at least 1).
   */
  uint32_t min_records;
  /**
   * `Coalesce`: longest time a record waits while a receive is pending,
   * in microseconds (`1..=MAX_DELAY_US`). `Adaptive`: the same, except
   * that a consumer whose measured turnaround (completion to next post)
   * is longer gets twice that turnaround, at most `MAX_DELAY_US`.
   */
  uint32_t max_delay_us;
  /**
   * Complete regardless of policy once the ring is this full, in percent
   * (`1..=100`).
   */
  uint32_t fill_percent;
  /**
   * Zero.
   */
  uint32_t reserved;
} KCHAN_SUBSCRIBE_CONFIG;

/**
 * Header of a batch, at the start of every completed receive.
 */
typedef struct KCHAN_BATCH_HEADER {
  /**
   * Number of records that follow (gap records included).
   */
  uint32_t record_count;
  /**
   * Bytes of the whole batch, this header included (the IOCTL's
   * `IoStatus.Information`). Multiple of [`RECORD_ALIGN`].
   */
  uint32_t total_bytes;
  /**
   * `BATCH_*` flags.
   */
  uint32_t flags;
  /**
   * Zero.
   */
  uint32_t reserved;
} KCHAN_BATCH_HEADER;

/**
 * Header of one record, 24 bytes as in the reference C design.
 */
typedef struct KCHAN_RECORD_HEADER {
  /**
   * Payload length in bytes, without padding.
   */
  uint32_t len;
  /**
   * Event kind (`0..=MAX_KIND`), or [`KIND_GAP`].
   */
  uint16_t kind;
  /**
   * Record flags; none defined yet, always 0.
   */
  uint16_t flags;
  /**
   * Per-subscriber sequence number. For a gap record: its `first_seq`.
   */
  uint64_t seq;
  /**
   * Publish time in 100 ns ticks (for a gap: time of the first loss).
   */
  uint64_t timestamp;
} KCHAN_RECORD_HEADER;

/**
 * Payload of a gap record: sequence numbers `first_seq .. first_seq + count`
 * are missing for `reason`.
 */
typedef struct KCHAN_GAP_INFO {
  /**
   * First missing sequence number.
   */
  uint64_t first_seq;
  /**
   * How many consecutive sequence numbers are missing (at least 1).
   */
  uint64_t count;
  /**
   * A [`GapReason`] as `u32`.
   */
  uint32_t reason;
  /**
   * Zero.
   */
  uint32_t reserved;
} KCHAN_GAP_INFO;

/**
 * Counters of the whole channel.
 */
typedef struct KCHAN_CHANNEL_STATS {
  /**
   * Publish calls accepted.
   */
  uint64_t published;
  /**
   * Publish calls refused (payload too large, kind out of range).
   */
  uint64_t rejected;
  /**
   * Records stored for subscribers (sum over subscribers of accepted fan-out).
   */
  uint64_t fanout;
  /**
   * Records dropped, all subscribers (attached or gone) and reasons: ring
   * full, overwritten, and discarded at close
   * ([`StatsReply::dropped_at_close`]; a driver whose reply ends before
   * that field counts the first two only).
   */
  uint64_t dropped;
  /**
   * Attached subscribers (closing ones included).
   */
  uint64_t subscribers;
  /**
   * Size of the subscriber table.
   */
  uint64_t max_subscribers;
  /**
   * Receives waiting, all subscribers.
   */
  uint64_t pending_receives;
  /**
   * Receives completed with records, all time.
   */
  uint64_t completions;
  /**
   * Receives cancelled, all time.
   */
  uint64_t cancels;
  /**
   * Bytes of pool memory live. The engine reports what its subscribers
   * hold (rings and queues); the driver replaces it with its allocator's
   * live bytes (everything kchan.sys holds), so a leak shows here.
   */
  uint64_t pool_bytes;
  /**
   * Pool allocations live (same sources as `pool_bytes`).
   */
  uint64_t pool_allocations;
  /**
   * Generator: 1 while running (filled by the driver, 0 from the engine).
   */
  uint64_t gen_running;
  /**
   * Generator: events produced since start (driver).
   */
  uint64_t gen_produced;
  /**
   * Generator: configured rate in events/s (driver).
   */
  uint64_t gen_rate;
} KCHAN_CHANNEL_STATS;

/**
 * Counters of one subscriber. At every moment
 * `published == delivered + in_ring_records + dropped_ring_full + dropped_overwritten`.
 */
typedef struct KCHAN_SUBSCRIBER_STATS {
  /**
   * Records published to this subscriber (matched its filter), i.e. sequence numbers used.
   */
  uint64_t published;
  /**
   * Event records handed to completed receives.
   */
  uint64_t delivered;
  /**
   * Records lost because the ring was full (drop-newest).
   */
  uint64_t dropped_ring_full;
  /**
   * Records lost because they were overwritten (drop-oldest).
   */
  uint64_t dropped_overwritten;
  /**
   * Event records waiting in the ring.
   */
  uint64_t in_ring_records;
  /**
   * Bytes used in the ring (event and gap records).
   */
  uint64_t in_ring_bytes;
  /**
   * Ring capacity in bytes.
   */
  uint64_t ring_capacity;
  /**
   * Highest `in_ring_bytes` seen.
   */
  uint64_t ring_high_water;
  /**
   * Gap records delivered.
   */
  uint64_t gaps_delivered;
  /**
   * Bytes of completed batches (headers included).
   */
  uint64_t bytes_delivered;
  /**
   * Receives waiting in the driver.
   */
  uint64_t pending_receives;
  /**
   * Receives-in-flight limit K.
   */
  uint64_t max_in_flight;
  /**
   * Receives completed with records.
   */
  uint64_t completions;
  /**
   * Receives cancelled.
   */
  uint64_t cancels;
  /**
   * Receives handed back because the subscriber closed.
   */
  uint64_t closed_receives;
  /**
   * Posts refused (too many pending, buffer too small).
   */
  uint64_t rejected_posts;
  /**
   * Next sequence number to be assigned.
   */
  uint64_t next_seq;
} KCHAN_SUBSCRIBER_STATS;

/**
 * Output of `IOCTL_STATS`: the channel and the calling handle's subscriber
 * (all zero when the handle has not subscribed), then the ring budget, then
 * the records dropped at close.
 *
 * The reply grows only at its end. A driver writes as much of it as the
 * output buffer holds, from [`STATS_REPLY_MIN_BYTES`] (the reply's first
 * layout: `channel` and `subscriber`) up to `size_of::<StatsReply>()`, and
 * [`StatsReply::parse`] reads any such prefix, with the missing fields 0.
 * So clients and drivers of either layout understand each other.
 */
typedef struct KCHAN_STATS_REPLY {
  /**
   * Channel-wide counters.
   */
  struct KCHAN_CHANNEL_STATS channel;
  /**
   * The caller's subscriber.
   */
  struct KCHAN_SUBSCRIBER_STATS subscriber;
  /**
   * The driver's budget for all subscribers' rings together, in bytes
   * (a subscribe that would exceed it is refused).
   */
  uint64_t ring_budget_bytes;
  /**
   * Ring bytes of the budget in use (attached subscribers' rings, and
   * rings being allocated by a subscribe).
   */
  uint64_t ring_budget_used;
  /**
   * Event records that were still waiting in a subscriber's ring when it
   * closed (its handle's CLEANUP or CLOSE, or the driver's unload),
   * freed with the ring: all subscribers, all time. Also counted in
   * `channel.dropped`, so that channel-wide, over every subscriber ever
   * attached, published == delivered + in rings + dropped. Gap records
   * are not counted here: the losses they report were counted (ring
   * full, overwritten) when they happened. 0 from a driver whose reply
   * ends before this field.
   */
  uint64_t dropped_at_close;
} KCHAN_STATS_REPLY;

/**
 * Header of an inject message.
 */
typedef struct KCHAN_INJECT_HEADER {
  /**
   * Must be [`PROTOCOL_VERSION`].
   */
  uint32_t version;
  /**
   * Records that follow (at least 1).
   */
  uint32_t record_count;
  /**
   * Bytes of the message, this header included; equal to the input length.
   */
  uint32_t total_bytes;
  /**
   * Zero.
   */
  uint32_t reserved;
} KCHAN_INJECT_HEADER;

/**
 * Header of one injected record.
 */
typedef struct KCHAN_INJECT_RECORD_HEADER {
  /**
   * Event kind, `0..=MAX_KIND`.
   */
  uint16_t kind;
  /**
   * Zero.
   */
  uint16_t reserved;
  /**
   * Payload length, at most [`MAX_RECORD_PAYLOAD`].
   */
  uint32_t len;
} KCHAN_INJECT_RECORD_HEADER;

/**
 * Input of `IOCTL_GEN_START`.
 */
typedef struct KCHAN_GEN_CONFIG {
  /**
   * Must be [`PROTOCOL_VERSION`].
   */
  uint32_t version;
  /**
   * Kind of the generated events, `0..=MAX_KIND`.
   */
  uint16_t kind;
  /**
   * Zero.
   */
  uint16_t reserved;
  /**
   * Events per second; 0 = as fast as possible.
   */
  uint32_t rate;
  /**
   * Events published per wakeup (at least 1).
   */
  uint32_t burst;
  /**
   * Payload bytes per event, at most [`MAX_RECORD_PAYLOAD`].
   */
  uint32_t payload_bytes;
  /**
   * [`GEN_WAIT_FOR_ROOM`] or 0; unknown bits are refused.
   */
  uint32_t flags;
  /**
   * Stop after this many events; 0 = until `IOCTL_GEN_STOP`.
   */
  uint64_t count;
} KCHAN_GEN_CONFIG;

/*
 * Each structure's layout as the Rust crate has it, written out by
 * tests/header.rs: a compiler that lays them out otherwise stops here.
 */
#ifdef __cplusplus
#define KCHAN_LAYOUT(what) static_assert(what, #what)
#define KCHAN_ALIGNOF(type) alignof(type)
#else
#define KCHAN_LAYOUT(what) _Static_assert(what, #what)
#define KCHAN_ALIGNOF(type) _Alignof(type)
#endif

KCHAN_LAYOUT(sizeof(KCHAN_VERSION_INFO) == 32);
KCHAN_LAYOUT(KCHAN_ALIGNOF(KCHAN_VERSION_INFO) == 4);
KCHAN_LAYOUT(offsetof(KCHAN_VERSION_INFO, magic) == 0);
KCHAN_LAYOUT(offsetof(KCHAN_VERSION_INFO, protocol_version) == 4);
KCHAN_LAYOUT(offsetof(KCHAN_VERSION_INFO, max_record_payload) == 8);
KCHAN_LAYOUT(offsetof(KCHAN_VERSION_INFO, max_batch_bytes) == 12);
KCHAN_LAYOUT(offsetof(KCHAN_VERSION_INFO, min_recv_bytes) == 16);
KCHAN_LAYOUT(offsetof(KCHAN_VERSION_INFO, max_ring_bytes) == 20);
KCHAN_LAYOUT(offsetof(KCHAN_VERSION_INFO, max_in_flight) == 24);
KCHAN_LAYOUT(offsetof(KCHAN_VERSION_INFO, max_inject_bytes) == 28);

KCHAN_LAYOUT(sizeof(KCHAN_SUBSCRIBE_CONFIG) == 48);
KCHAN_LAYOUT(KCHAN_ALIGNOF(KCHAN_SUBSCRIBE_CONFIG) == 8);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBE_CONFIG, version) == 0);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBE_CONFIG, flags) == 4);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBE_CONFIG, kind_mask) == 8);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBE_CONFIG, ring_bytes) == 16);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBE_CONFIG, max_in_flight) == 20);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBE_CONFIG, overflow) == 24);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBE_CONFIG, completion) == 28);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBE_CONFIG, min_records) == 32);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBE_CONFIG, max_delay_us) == 36);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBE_CONFIG, fill_percent) == 40);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBE_CONFIG, reserved) == 44);

KCHAN_LAYOUT(sizeof(KCHAN_BATCH_HEADER) == 16);
KCHAN_LAYOUT(KCHAN_ALIGNOF(KCHAN_BATCH_HEADER) == 4);
KCHAN_LAYOUT(offsetof(KCHAN_BATCH_HEADER, record_count) == 0);
KCHAN_LAYOUT(offsetof(KCHAN_BATCH_HEADER, total_bytes) == 4);
KCHAN_LAYOUT(offsetof(KCHAN_BATCH_HEADER, flags) == 8);
KCHAN_LAYOUT(offsetof(KCHAN_BATCH_HEADER, reserved) == 12);

KCHAN_LAYOUT(sizeof(KCHAN_RECORD_HEADER) == 24);
KCHAN_LAYOUT(KCHAN_ALIGNOF(KCHAN_RECORD_HEADER) == 8);
KCHAN_LAYOUT(offsetof(KCHAN_RECORD_HEADER, len) == 0);
KCHAN_LAYOUT(offsetof(KCHAN_RECORD_HEADER, kind) == 4);
KCHAN_LAYOUT(offsetof(KCHAN_RECORD_HEADER, flags) == 6);
KCHAN_LAYOUT(offsetof(KCHAN_RECORD_HEADER, seq) == 8);
KCHAN_LAYOUT(offsetof(KCHAN_RECORD_HEADER, timestamp) == 16);

KCHAN_LAYOUT(sizeof(KCHAN_GAP_INFO) == 24);
KCHAN_LAYOUT(KCHAN_ALIGNOF(KCHAN_GAP_INFO) == 8);
KCHAN_LAYOUT(offsetof(KCHAN_GAP_INFO, first_seq) == 0);
KCHAN_LAYOUT(offsetof(KCHAN_GAP_INFO, count) == 8);
KCHAN_LAYOUT(offsetof(KCHAN_GAP_INFO, reason) == 16);
KCHAN_LAYOUT(offsetof(KCHAN_GAP_INFO, reserved) == 20);

KCHAN_LAYOUT(sizeof(KCHAN_CHANNEL_STATS) == 112);
KCHAN_LAYOUT(KCHAN_ALIGNOF(KCHAN_CHANNEL_STATS) == 8);
KCHAN_LAYOUT(offsetof(KCHAN_CHANNEL_STATS, published) == 0);
KCHAN_LAYOUT(offsetof(KCHAN_CHANNEL_STATS, rejected) == 8);
KCHAN_LAYOUT(offsetof(KCHAN_CHANNEL_STATS, fanout) == 16);
KCHAN_LAYOUT(offsetof(KCHAN_CHANNEL_STATS, dropped) == 24);
KCHAN_LAYOUT(offsetof(KCHAN_CHANNEL_STATS, subscribers) == 32);
KCHAN_LAYOUT(offsetof(KCHAN_CHANNEL_STATS, max_subscribers) == 40);
KCHAN_LAYOUT(offsetof(KCHAN_CHANNEL_STATS, pending_receives) == 48);
KCHAN_LAYOUT(offsetof(KCHAN_CHANNEL_STATS, completions) == 56);
KCHAN_LAYOUT(offsetof(KCHAN_CHANNEL_STATS, cancels) == 64);
KCHAN_LAYOUT(offsetof(KCHAN_CHANNEL_STATS, pool_bytes) == 72);
KCHAN_LAYOUT(offsetof(KCHAN_CHANNEL_STATS, pool_allocations) == 80);
KCHAN_LAYOUT(offsetof(KCHAN_CHANNEL_STATS, gen_running) == 88);
KCHAN_LAYOUT(offsetof(KCHAN_CHANNEL_STATS, gen_produced) == 96);
KCHAN_LAYOUT(offsetof(KCHAN_CHANNEL_STATS, gen_rate) == 104);

KCHAN_LAYOUT(sizeof(KCHAN_SUBSCRIBER_STATS) == 136);
KCHAN_LAYOUT(KCHAN_ALIGNOF(KCHAN_SUBSCRIBER_STATS) == 8);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBER_STATS, published) == 0);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBER_STATS, delivered) == 8);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBER_STATS, dropped_ring_full) == 16);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBER_STATS, dropped_overwritten) == 24);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBER_STATS, in_ring_records) == 32);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBER_STATS, in_ring_bytes) == 40);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBER_STATS, ring_capacity) == 48);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBER_STATS, ring_high_water) == 56);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBER_STATS, gaps_delivered) == 64);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBER_STATS, bytes_delivered) == 72);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBER_STATS, pending_receives) == 80);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBER_STATS, max_in_flight) == 88);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBER_STATS, completions) == 96);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBER_STATS, cancels) == 104);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBER_STATS, closed_receives) == 112);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBER_STATS, rejected_posts) == 120);
KCHAN_LAYOUT(offsetof(KCHAN_SUBSCRIBER_STATS, next_seq) == 128);

KCHAN_LAYOUT(sizeof(KCHAN_STATS_REPLY) == 272);
KCHAN_LAYOUT(KCHAN_ALIGNOF(KCHAN_STATS_REPLY) == 8);
KCHAN_LAYOUT(offsetof(KCHAN_STATS_REPLY, channel) == 0);
KCHAN_LAYOUT(offsetof(KCHAN_STATS_REPLY, subscriber) == 112);
KCHAN_LAYOUT(offsetof(KCHAN_STATS_REPLY, ring_budget_bytes) == 248);
KCHAN_LAYOUT(offsetof(KCHAN_STATS_REPLY, ring_budget_used) == 256);
KCHAN_LAYOUT(offsetof(KCHAN_STATS_REPLY, dropped_at_close) == 264);

KCHAN_LAYOUT(sizeof(KCHAN_INJECT_HEADER) == 16);
KCHAN_LAYOUT(KCHAN_ALIGNOF(KCHAN_INJECT_HEADER) == 4);
KCHAN_LAYOUT(offsetof(KCHAN_INJECT_HEADER, version) == 0);
KCHAN_LAYOUT(offsetof(KCHAN_INJECT_HEADER, record_count) == 4);
KCHAN_LAYOUT(offsetof(KCHAN_INJECT_HEADER, total_bytes) == 8);
KCHAN_LAYOUT(offsetof(KCHAN_INJECT_HEADER, reserved) == 12);

KCHAN_LAYOUT(sizeof(KCHAN_INJECT_RECORD_HEADER) == 8);
KCHAN_LAYOUT(KCHAN_ALIGNOF(KCHAN_INJECT_RECORD_HEADER) == 4);
KCHAN_LAYOUT(offsetof(KCHAN_INJECT_RECORD_HEADER, kind) == 0);
KCHAN_LAYOUT(offsetof(KCHAN_INJECT_RECORD_HEADER, reserved) == 2);
KCHAN_LAYOUT(offsetof(KCHAN_INJECT_RECORD_HEADER, len) == 4);

KCHAN_LAYOUT(sizeof(KCHAN_GEN_CONFIG) == 32);
KCHAN_LAYOUT(KCHAN_ALIGNOF(KCHAN_GEN_CONFIG) == 8);
KCHAN_LAYOUT(offsetof(KCHAN_GEN_CONFIG, version) == 0);
KCHAN_LAYOUT(offsetof(KCHAN_GEN_CONFIG, kind) == 4);
KCHAN_LAYOUT(offsetof(KCHAN_GEN_CONFIG, reserved) == 6);
KCHAN_LAYOUT(offsetof(KCHAN_GEN_CONFIG, rate) == 8);
KCHAN_LAYOUT(offsetof(KCHAN_GEN_CONFIG, burst) == 12);
KCHAN_LAYOUT(offsetof(KCHAN_GEN_CONFIG, payload_bytes) == 16);
KCHAN_LAYOUT(offsetof(KCHAN_GEN_CONFIG, flags) == 20);
KCHAN_LAYOUT(offsetof(KCHAN_GEN_CONFIG, count) == 24);

#undef KCHAN_LAYOUT
#undef KCHAN_ALIGNOF

#endif  /* KCHAN_H */
