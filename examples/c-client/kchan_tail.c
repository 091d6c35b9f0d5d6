/*
 * kchan_tail: prints the events of a kchan device, from C (Win32, C11).
 *
 * Opens \\.\kchan (or --device NAME) for overlapped I/O, checks the
 * protocol version, subscribes, and keeps K receives in flight on an I/O
 * completion port. Each completed receive holds a batch: it is checked
 * whole (batch.c), then its events and gap records are printed in sequence
 * order. Stops after --count events, --seconds, or Ctrl+C; then cancels its
 * receives and waits for each before freeing their buffers. See README.md.
 */
#define WIN32_LEAN_AND_MEAN
#define _WIN32_WINNT 0x0601 /* Windows 7: CancelIoEx, SetFileCompletionNotificationModes */
#include <windows.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <kchan.h>

#include "batch.h"

#define MAX_RECEIVES 64        /* receives this program can keep; the driver may allow fewer */
#define KEY_RECEIVE 1          /* completion key of the device's receives */
#define KEY_STOP 2             /* completion key of the Ctrl+C handler's packet */
#define BUFFER_BYTES (64 << 10) /* each receive's buffer */
#define SHOWN_BYTES 64         /* payload bytes printed per event */
#define DRAIN_MS 10000         /* longest wait for cancelled receives */

enum state { IDLE, POSTED, DONE };

struct receive {
    OVERLAPPED ov;             /* the request's; a completion is matched to it by address */
    enum state state;          /* IDLE: ours, to post; POSTED: the driver's; DONE: a checked batch */
    unsigned char *buf;
    batch_reader reader;       /* DONE: its records */
    batch_summary summary;     /* DONE: its span of sequence numbers */
};

struct options {
    const char *device;
    uint64_t kinds, count, seconds;
    uint32_t ring_bytes;
    unsigned in_flight;
    int pause;
};

struct tail {
    struct options opt;
    HANDLE device, port;
    BOOL skip_on_success;      /* no completion packet for a receive that completes inside its call */
    struct receive recv[MAX_RECEIVES];
    uint64_t next_seq;         /* where the next batch in turn starts */
    uint64_t events, gaps, lost, completions, at_once, cancelled;
};

static HANDLE stop_port;       /* for the Ctrl+C handler */

static int fail(const char *what, DWORD error)
{
    fprintf(stderr, "kchan_tail: %s failed: Windows error %lu\n", what, (unsigned long)error);
    return -1;
}

static BOOL WINAPI on_ctrl(DWORD type)
{
    (void)type;
    PostQueuedCompletionStatus(stop_port, 0, KEY_STOP, NULL);
    return TRUE;
}

/* A control request, waited for whether it completes at once or later.
 * The event's low bit keeps its completion off a completion port. */
static BOOL control(HANDLE device, DWORD code, void *in, DWORD in_len, void *out, DWORD out_len, DWORD *bytes)
{
    OVERLAPPED ov;
    HANDLE event = CreateEventA(NULL, TRUE, FALSE, NULL);
    BOOL ok;
    DWORD error;

    if (event == NULL)
        return FALSE;
    memset(&ov, 0, sizeof ov);
    ov.hEvent = (HANDLE)((uintptr_t)event | 1);
    ok = DeviceIoControl(device, code, in, in_len, out, out_len, bytes, &ov);
    if (ok || GetLastError() == ERROR_IO_PENDING)
        ok = GetOverlappedResult(device, &ov, bytes, TRUE); /* ov stays ours until it returns */
    error = GetLastError();
    CloseHandle(event);
    SetLastError(error);
    return ok;
}

/* Takes back a receive the driver completed with `bytes` bytes: DONE with
 * its batch checked, or IDLE to post again if it carries no record. */
static int take_back(struct tail *t, struct receive *r, DWORD bytes)
{
    const char *problem;

    r->state = IDLE;
    if (bytes > BUFFER_BYTES)
        problem = "more bytes than the buffer holds";
    else
        problem = batch_open(r->buf, bytes, &r->reader, &r->summary);
    if (problem != NULL) {
        fprintf(stderr, "kchan_tail: malformed batch of %lu bytes: %s\n", (unsigned long)bytes, problem);
        return -1;
    }
    t->completions++;
    if (r->summary.records > 0)
        r->state = DONE;
    return 0;
}

/* Posts an IDLE receive. DeviceIoControl's return value says how it went:
 * TRUE, it completed inside the call; FALSE with ERROR_IO_PENDING, it is in
 * flight; FALSE with another error, it failed (the last error of a call
 * that succeeds is stale, so it is read only after FALSE). */
static int post(struct tail *t, struct receive *r)
{
    DWORD bytes = 0;
    DWORD error;

    memset(&r->ov, 0, sizeof r->ov);
    r->state = POSTED;
    if (DeviceIoControl(t->device, KCHAN_IOCTL_RECV, NULL, 0, r->buf, BUFFER_BYTES, &bytes, &r->ov)) {
        if (!t->skip_on_success)
            return 0; /* its packet comes through the port all the same */
        t->at_once++;
        return take_back(t, r, bytes);
    }
    error = GetLastError();
    if (error == ERROR_IO_PENDING)
        return 0;
    r->state = IDLE;
    return fail("posting a receive", error);
}

static struct receive *find(struct tail *t, OVERLAPPED *ov)
{
    for (unsigned i = 0; i < t->opt.in_flight; i++)
        if (&t->recv[i].ov == ov && t->recv[i].state == POSTED)
            return &t->recv[i];
    return NULL;
}

static void print_event(const batch_record *r)
{
    uint32_t shown = r->len < SHOWN_BYTES ? r->len : SHOWN_BYTES;
    int text = 1;

    for (uint32_t i = 0; i < shown; i++)
        text = text && r->payload[i] >= 0x20 && r->payload[i] < 0x7f;
    printf("#%" PRIu64 " kind %u t %" PRIu64 " %" PRIu32 " B %s ", r->seq, (unsigned)r->kind, r->timestamp, r->len,
           text ? "text" : "hex");
    for (uint32_t i = 0; i < shown; i++)
        printf(text ? "%c" : "%02x", r->payload[i]);
    if (shown < r->len)
        printf(" ... (%" PRIu32 " more bytes)", r->len - shown);
    putchar('\n');
}

/* Prints a DONE receive's records; 1 once --count events are printed. */
static int print_batch(struct tail *t, struct receive *r)
{
    batch_record rec;

    while (batch_read(&r->reader, &rec)) {
        if (rec.is_gap) {
            printf("#%" PRIu64 "..#%" PRIu64 " lost %" PRIu64 " events (%s) t %" PRIu64 "\n", rec.seq,
                   rec.seq + rec.count - 1, rec.count,
                   rec.reason == KCHAN_GAP_REASON_RING_FULL ? "ring full" : "overwritten", rec.timestamp);
            t->gaps++;
            t->lost += rec.count;
            continue;
        }
        print_event(&rec);
        if (++t->events == t->opt.count)
            return 1;
    }
    fflush(stdout); /* a batch at a time, also through a pipe */
    return ferror(stdout) ? 1 : 0; /* a closed pipe ends the run */
}

/* Prints the DONE batches whose turn has come, lowest first. With K
 * receives in flight completions may arrive out of order: a batch waits
 * while one that starts earlier may still be with the driver. */
static int deliver(struct tail *t)
{
    for (;;) {
        struct receive *lowest = NULL;
        int posted = 0;
        for (unsigned i = 0; i < t->opt.in_flight; i++) {
            struct receive *r = &t->recv[i];
            posted += r->state == POSTED;
            if (r->state == DONE && (lowest == NULL || r->summary.first_seq < lowest->summary.first_seq))
                lowest = r;
        }
        if (lowest == NULL || (lowest->summary.first_seq > t->next_seq && posted > 0))
            return 0;
        lowest->state = IDLE;
        if (print_batch(t, lowest))
            return 1;
        if (lowest->summary.end_seq > t->next_seq)
            t->next_seq = lowest->summary.end_seq;
    }
}

enum packet { RECEIVED, STOP, TIMED_OUT, BROKEN };

/* Waits up to `ms` for a packet on the port. RECEIVED: the receive *r is
 * back from the driver, with *bytes and *error (0, or how it failed). */
static enum packet next_packet(struct tail *t, DWORD ms, struct receive **r, DWORD *bytes, DWORD *error)
{
    ULONG_PTR key = 0;
    OVERLAPPED *ov = NULL;
    BOOL ok = GetQueuedCompletionStatus(t->port, bytes, &key, &ov, ms);

    *error = ok ? 0 : GetLastError();
    if (ov == NULL) { /* no request's packet */
        if (ok && key == KEY_STOP)
            return STOP;
        if (*error == WAIT_TIMEOUT)
            return TIMED_OUT;
        fail("waiting on the completion port", *error);
        return BROKEN;
    }
    if ((*r = find(t, ov)) == NULL) {
        fprintf(stderr, "kchan_tail: a completion of a request this program did not post\n");
        return BROKEN;
    }
    (*r)->state = IDLE;
    return RECEIVED;
}

/* Keeps every receive posted and prints batches until a stop condition. */
static int run(struct tail *t)
{
    ULONGLONG deadline = t->opt.seconds ? GetTickCount64() + t->opt.seconds * 1000 : 0;

    for (;;) {
        DWORD bytes = 0, wait = INFINITE, error = 0;
        ULONGLONG now = GetTickCount64();
        struct receive *r = NULL;
        int idle = 0;

        for (unsigned i = 0; i < t->opt.in_flight; i++)
            if (t->recv[i].state == IDLE && post(t, &t->recv[i]) != 0)
                return -1;
        if (deliver(t))
            return 0;
        if (deadline && now >= deadline)
            return 0;
        for (unsigned i = 0; i < t->opt.in_flight; i++)
            idle += t->recv[i].state == IDLE;
        if (idle)
            wait = 0; /* only look: they are to be posted again */
        else if (deadline)
            wait = (DWORD)(deadline - now);
        switch (next_packet(t, wait, &r, &bytes, &error)) {
        case RECEIVED:
            break;
        case TIMED_OUT:
            continue;
        case STOP:
            return 0;
        default:
            return -1;
        }
        if (error == 0) {
            if (take_back(t, r, bytes) != 0)
                return -1;
        } else if (error != ERROR_OPERATION_ABORTED) { /* cancelled by someone else: posted again */
            fprintf(stderr, "kchan_tail: a receive failed: NTSTATUS 0x%08lX (Windows error %lu)\n",
                    (unsigned long)r->ov.Internal, (unsigned long)error);
            return -1;
        }
    }
}

/* Cancels the receives still with the driver and waits for each one's
 * completion: only then may its buffer be freed. Returns how many did not
 * complete in time (their buffers are then kept, never freed). */
static unsigned drain(struct tail *t)
{
    ULONGLONG now, deadline = GetTickCount64() + DRAIN_MS;
    unsigned pending = 0;

    for (unsigned i = 0; i < t->opt.in_flight; i++)
        if (t->recv[i].state == POSTED) {
            CancelIoEx(t->device, &t->recv[i].ov); /* fails if it completed meanwhile: its packet comes */
            pending++;
        }
    while (pending > 0 && (now = GetTickCount64()) < deadline) {
        DWORD bytes, error;
        struct receive *r;
        enum packet p = next_packet(t, (DWORD)(deadline - now), &r, &bytes, &error);
        if (p == RECEIVED) {
            t->cancelled += error == ERROR_OPERATION_ABORTED;
            pending--;
        } else if (p != STOP) { /* another Ctrl+C waits on */
            break;
        }
    }
    if (pending > 0)
        fprintf(stderr, "kchan_tail: %u receives did not complete after cancel; their buffers are not freed\n",
                pending);
    return pending;
}

static int usage(void)
{
    fputs("usage: kchan_tail [--device NAME] [--kind K]... [--count N] [--seconds T]\n"
          "                  [--in-flight K] [--ring-bytes B] [--pause]\n", stderr);
    return 2;
}

/* A whole decimal number in [min, max]. */
static int number(const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end;
    unsigned long long value;

    if (*text < '0' || *text > '9')
        return -1;
    value = strtoull(text, &end, 10);
    if (*end != '\0' || value < min || value > max)
        return -1;
    *out = value;
    return 0;
}

static int parse(int argc, char **argv, struct options *o)
{
    o->device = KCHAN_DEVICE_NAME;
    o->ring_bytes = 4u << 20;
    o->in_flight = 8;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : "";
        uint64_t n = 0;
        if (strcmp(a, "--pause") == 0) {
            o->pause = 1;
            continue;
        }
        i++;
        if (strcmp(a, "--device") == 0 && *v != '\0')
            o->device = v;
        else if (strcmp(a, "--kind") == 0 && number(v, 0, KCHAN_MAX_KIND, &n) == 0)
            o->kinds |= (uint64_t)1 << n;
        else if (strcmp(a, "--count") == 0 && number(v, 1, UINT64_MAX, &n) == 0)
            o->count = n;
        else if (strcmp(a, "--seconds") == 0 && number(v, 1, 1000000, &n) == 0)
            o->seconds = n;
        else if (strcmp(a, "--in-flight") == 0 && number(v, 1, MAX_RECEIVES, &n) == 0)
            o->in_flight = (unsigned)n;
        else if (strcmp(a, "--ring-bytes") == 0 && number(v, 1, UINT32_MAX, &n) == 0)
            o->ring_bytes = (uint32_t)n;
        else {
            fprintf(stderr, "kchan_tail: %s %s: unknown option, or a value missing or out of range\n", a, v);
            return -1;
        }
    }
    if (o->kinds == 0)
        o->kinds = UINT64_MAX;
    return 0;
}

/* Opens the device, checks its version and the options against its
 * limits, subscribes, and binds the handle to a new completion port. */
static int start(struct tail *t)
{
    char path[300];
    KCHAN_VERSION_INFO v;
    KCHAN_SUBSCRIBE_CONFIG c;
    DWORD n = 0;

    snprintf(path, sizeof path, "%s%s", strncmp(t->opt.device, "\\\\.\\", 4) ? "\\\\.\\" : "", t->opt.device);
    /* Read access is all a subscriber needs. */
    t->device = CreateFileA(path, GENERIC_READ, FILE_SHARE_READ | FILE_SHARE_WRITE, NULL, OPEN_EXISTING,
                            FILE_FLAG_OVERLAPPED, NULL);
    if (t->device == INVALID_HANDLE_VALUE) {
        DWORD error = GetLastError();
        if (error == ERROR_FILE_NOT_FOUND || error == ERROR_PATH_NOT_FOUND)
            fprintf(stderr, "kchan_tail: %s does not exist (is the driver loaded?)\n", path);
        else
            fprintf(stderr, "kchan_tail: cannot open %s: Windows error %lu\n", path, (unsigned long)error);
        return -1;
    }
    if (!control(t->device, KCHAN_IOCTL_VERSION, NULL, 0, &v, sizeof v, &n))
        return fail("IOCTL_VERSION", GetLastError());
    if (n < sizeof v || v.magic != KCHAN_MAGIC || v.protocol_version != KCHAN_PROTOCOL_VERSION) {
        fprintf(stderr, "kchan_tail: %s is not a kchan device of protocol version %d\n", path, KCHAN_PROTOCOL_VERSION);
        return -1;
    }
    if (t->opt.in_flight > v.max_in_flight || t->opt.ring_bytes > v.max_ring_bytes ||
        BUFFER_BYTES < v.min_recv_bytes || BUFFER_BYTES > v.max_batch_bytes) {
        fprintf(stderr, "kchan_tail: %s allows 1 to %lu receives in flight and rings up to %lu bytes\n", path,
                (unsigned long)v.max_in_flight, (unsigned long)v.max_ring_bytes);
        return -1;
    }

    memset(&c, 0, sizeof c);
    c.version = KCHAN_PROTOCOL_VERSION;
    c.kind_mask = t->opt.kinds;
    c.ring_bytes = t->opt.ring_bytes;
    c.max_in_flight = t->opt.in_flight;
    c.overflow = KCHAN_OVERFLOW_POLICY_DROP_NEWEST;
    c.completion = KCHAN_COMPLETION_POLICY_ADAPTIVE;
    c.min_records = 1;
    c.max_delay_us = 1000;
    c.fill_percent = 50;
    if (!control(t->device, KCHAN_IOCTL_SUBSCRIBE, &c, sizeof c, NULL, 0, &n))
        return fail("IOCTL_SUBSCRIBE", GetLastError());

    t->port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, NULL, 0, 1);
    if (t->port == NULL || CreateIoCompletionPort(t->device, t->port, KEY_RECEIVE, 0) == NULL)
        return fail("binding the device to a completion port", GetLastError());
    /* Without it (refused), a receive that completes at once comes through the port too. */
    t->skip_on_success = SetFileCompletionNotificationModes(t->device, FILE_SKIP_COMPLETION_PORT_ON_SUCCESS);
    for (unsigned i = 0; i < t->opt.in_flight; i++)
        if ((t->recv[i].buf = malloc(BUFFER_BYTES)) == NULL)
            return fail("allocating receive buffers", ERROR_NOT_ENOUGH_MEMORY);
    fprintf(stderr, "kchan_tail: subscribed to %s: kinds 0x%016" PRIx64 ", ring %" PRIu32 " bytes, %u receives\n",
            path, t->opt.kinds, t->opt.ring_bytes, t->opt.in_flight);
    return 0;
}

int main(int argc, char **argv)
{
    static struct tail t;
    unsigned stuck = 0;
    int result;

    if (parse(argc, argv, &t.opt) != 0)
        return usage();
    t.device = INVALID_HANDLE_VALUE;
    result = start(&t);
    if (result == 0) {
        stop_port = t.port;
        SetConsoleCtrlHandler(on_ctrl, TRUE);
        if (t.opt.pause) {
            fputs("kchan_tail: paused; press Enter to start receiving\n", stderr);
            fflush(stderr); /* Wine's C runtime may hold it back until the read returns */
            (void)getchar();
        }
        result = run(&t);
        stuck = drain(&t);
        fflush(stdout);
        fprintf(stderr, "kchan_tail: %" PRIu64 " events, %" PRIu64 " gaps, %" PRIu64 " lost, %" PRIu64
                " completions (%" PRIu64 " at once), %" PRIu64 " receives cancelled\n",
                t.events, t.gaps, t.lost, t.completions, t.at_once, t.cancelled);
    }
    for (unsigned i = 0; i < t.opt.in_flight; i++)
        if (t.recv[i].state != POSTED)
            free(t.recv[i].buf); /* a receive still POSTED may yet be written: kept */
    if (stuck == 0 && t.port != NULL)
        CloseHandle(t.port);
    if (t.device != INVALID_HANDLE_VALUE)
        CloseHandle(t.device);
    return result == 0 && stuck == 0 ? 0 : 1;
}
