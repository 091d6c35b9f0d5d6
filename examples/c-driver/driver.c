/*
 * kchan_example_c.sys: a WDM driver in C that streams events through kchan.
 *
 * Its event source is a periodic kernel timer whose DPC publishes one
 * event per tick (at DISPATCH_LEVEL on Windows). Clients open
 * \\.\kchan_example_c with the kchan client library or
 * `kchan monitor --device kchan_example_c`. See README.md.
 */
#include <ntddk.h>
#include <kchan_km.h>

/* The event this driver publishes, kind TICK_KIND. */
#define TICK_KIND 1
#define TICK_PERIOD_MS 10

typedef struct TICK_EVENT {
    LONG64 Tick;            /* 0, 1, 2, ...: one per timer expiry */
    ULONG PeriodMs;         /* TICK_PERIOD_MS */
    ULONG Reserved;
} TICK_EVENT;

/* Nonpaged by default (mingw puts no code or data in a pageable section). */
static KCHAN_DEVICE *Kchan;
static KTIMER TickTimer;
static KDPC TickDpc;
static LONG64 volatile Ticks;
/* What the I/O manager put in the dispatch table (its routine for requests
 * no driver handles), put back at unload: see Unload. */
static PDRIVER_DISPATCH Unhandled;

/* Timer DPC: IRQL = DISPATCH_LEVEL. KchanPublish neither waits nor allocates. */
static VOID NTAPI OnTick(KDPC *Dpc, PVOID Context, PVOID Arg1, PVOID Arg2)
{
    TICK_EVENT event;
    UNREFERENCED_PARAMETER(Dpc);
    UNREFERENCED_PARAMETER(Context);
    UNREFERENCED_PARAMETER(Arg1);
    UNREFERENCED_PARAMETER(Arg2);
    event.Tick = InterlockedIncrement64(&Ticks) - 1;
    event.PeriodMs = TICK_PERIOD_MS;
    event.Reserved = 0;
    /* The record's timestamp is taken by kchan; the payload is copied. */
    KchanPublish(Kchan, TICK_KIND, &event, sizeof event);
}

/* Every request reaches the kchan device: it is this driver's only device. */
static NTSTATUS NTAPI Dispatch(DEVICE_OBJECT *DeviceObject, IRP *Irp)
{
    if (DeviceObject != KchanDeviceObject(Kchan)) {
        Irp->IoStatus.Status = STATUS_INVALID_DEVICE_REQUEST;
        Irp->IoStatus.Information = 0;
        IoCompleteRequest(Irp, IO_NO_INCREMENT);
        return STATUS_INVALID_DEVICE_REQUEST;
    }
    /* The IRP is the library's now: return its status, never touch the IRP. */
    return KchanDispatch(Kchan, Irp);
}

/* Stop the source first (no KchanPublish running or to come), then kchan. */
static VOID NTAPI Unload(DRIVER_OBJECT *DriverObject)
{
    /* Windows sends no request once the unload has begun; Wine may still
     * call the table after this image is unmapped, so point it back at the
     * I/O manager's own routine first. KchanDeleteDevice then waits for the
     * requests already inside. */
    DriverObject->MajorFunction[IRP_MJ_CREATE] = Unhandled;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = Unhandled;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = Unhandled;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = Unhandled;
    KeCancelTimer(&TickTimer);
    /* On Windows a DPC already queued still runs after KeCancelTimer: wait for it. */
    KeFlushQueuedDpcs();
    KchanDeleteDevice(Kchan);
    Kchan = NULL;
}

NTSTATUS NTAPI DriverEntry(DRIVER_OBJECT *DriverObject, UNICODE_STRING *RegistryPath)
{
    UNICODE_STRING name = RTL_CONSTANT_STRING(L"kchan_example_c");
    KCHAN_CONFIG config;
    LARGE_INTEGER due;
    NTSTATUS status;

    RtlZeroMemory(&config, sizeof config);
    config.Size = sizeof config;
    config.Name = &name;
    config.RegistryPath = RegistryPath;   /* budget parameter, unload report */
    status = KchanCreateDevice(DriverObject, &config, &Kchan);
    if (!NT_SUCCESS(status))
        return status;

    Unhandled = DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL];
    DriverObject->MajorFunction[IRP_MJ_CREATE] = Dispatch;
    DriverObject->MajorFunction[IRP_MJ_CLEANUP] = Dispatch;
    DriverObject->MajorFunction[IRP_MJ_CLOSE] = Dispatch;
    DriverObject->MajorFunction[IRP_MJ_DEVICE_CONTROL] = Dispatch;
    DriverObject->DriverUnload = Unload;

    KeInitializeDpc(&TickDpc, OnTick, NULL);
    KeInitializeTimerEx(&TickTimer, SynchronizationTimer);
    due.QuadPart = -10000LL * TICK_PERIOD_MS;   /* relative, 100 ns units */
    KeSetTimerEx(&TickTimer, due, TICK_PERIOD_MS, &TickDpc);
    return STATUS_SUCCESS;
}
