/*
 * kchan_km.h: kchan inside your WDM driver, from C.
 *
 * Link with libkchan_c.a (crates/kchan-c, x86_64-pc-windows-gnu) and the
 * usual kernel import libraries (-lntoskrnl -lhal): the library needs
 * nothing else. Clients reach the device with the kchan client library or
 * `kchan monitor --device NAME`; docs/embedding.md walks through it.
 */

#ifndef KCHAN_KM_H
#define KCHAN_KM_H

/* Generated from crates/kchan-c/src by cbindgen: edit the Rust doc comments, not this file. */

#include <ntddk.h>

/**
 * The version of this interface: `KCHAN_CONFIG.Size` tells which fields a
 * caller knows, so later versions can add fields at the end.
 */
#define KCHAN_KM_VERSION 1

/**
 * The bug check code of a panic inside the library, 0x6B630001
 * (`KeBugCheckEx`'s first parameter; the second is the source line). A
 * panic means a broken internal invariant, never bad input; it stops the
 * machine and never unwinds into the caller.
 */
#define KCHAN_BUGCHECK 1801650177

/**
 * A kchan device created by `KchanCreateDevice`: opaque to the driver.
 */
typedef struct KCHAN_DEVICE KCHAN_DEVICE;

/**
 * How `KchanCreateDevice` sets up a device. Zero every field you do not
 * set: zero means the default.
 */
typedef struct KCHAN_CONFIG {
  /**
   * `sizeof(KCHAN_CONFIG)`.
   */
  ULONG Size;
  /**
   * The device's name, without a path, e.g. `RTL_CONSTANT_STRING(L"mydriver")`:
   * the library creates `\Device\<Name>` and the link `\DosDevices\<Name>`,
   * which clients open as `\\.\<Name>`. 1 to 48 characters from
   * `A-Z a-z 0-9 _ -`. Copied: the caller's string need not outlive the call.
   */
  const UNICODE_STRING *Name;
  /**
   * The `RegistryPath` that `DriverEntry` received, or NULL. The library
   * reads the ring budget parameter `RingBudgetBytes` (REG_QWORD) there
   * and, when the device is deleted, writes the unload report
   * (`LastUnloadLiveAllocations`, `LastUnloadLiveBytes`,
   * `LastUnloadDroppedRecords`). Copied.
   */
  const UNICODE_STRING *RegistryPath;
  /**
   * Budget for the rings of all subscribers together, in bytes; 0: 256
   * MiB. The registry parameter, when present, replaces either. A
   * subscribe past the budget is refused with STATUS_INSUFFICIENT_RESOURCES
   * and changes nothing.
   */
  ULONG64 RingBudgetBytes;
  /**
   * Most subscribers at once, 1 to 64; 0: 64.
   */
  ULONG MaxSubscribers;
  /**
   * Largest event payload `KchanPublish` accepts, in bytes, up to 16384;
   * 0: 16384.
   */
  ULONG MaxPayloadBytes;
} KCHAN_CONFIG;

#ifdef __cplusplus
extern "C" {
#endif // __cplusplus

/**
 * Creates a kchan device for `DriverObject` under `Config->Name`, with its
 * link, and returns it in `*Device`.
 *
 * IRQL: PASSIVE_LEVEL (typically in `DriverEntry`).
 *
 * The device object belongs to `DriverObject`: route its requests to
 * `KchanDispatch` (compare the `DeviceObject` your dispatch routine gets with
 * `KchanDeviceObject`). `*Device` stays valid until `KchanDeleteDevice`.
 *
 * Returns STATUS_SUCCESS; STATUS_INVALID_PARAMETER for a null pointer, a
 * `Size` smaller than version 1's, a bad name or limit (nothing created,
 * `*Device` set to NULL); STATUS_OBJECT_NAME_COLLISION if the name is
 * taken; STATUS_INSUFFICIENT_RESOURCES; or what `IoCreateDevice` or
 * `IoCreateSymbolicLink` returned.
 *
 * # Safety
 * `DriverObject` is the caller's driver object; `Config` and `Device` are
 * valid pointers or null.
 */
NTSTATUS KchanCreateDevice(DRIVER_OBJECT *DriverObject,
                           const struct KCHAN_CONFIG *Config,
                           struct KCHAN_DEVICE **Device);

/**
 * The `DEVICE_OBJECT` of `Device`, for routing: a dispatch routine that
 * receives it passes the IRP to `KchanDispatch`.
 *
 * IRQL: any.
 *
 * # Safety
 * `Device` came from `KchanCreateDevice` and is not deleted.
 */
DEVICE_OBJECT *KchanDeviceObject(const struct KCHAN_DEVICE *Device);

/**
 * Serves one request sent to `Device`'s device object: IRP_MJ_CREATE,
 * IRP_MJ_CLEANUP, IRP_MJ_CLOSE or IRP_MJ_DEVICE_CONTROL (any other major
 * function is completed with STATUS_INVALID_DEVICE_REQUEST).
 *
 * IRQL: PASSIVE_LEVEL (the I/O manager's, in the requester's thread).
 *
 * Ownership: the IRP passes to the library. It is completed, or marked
 * pending and STATUS_PENDING returned; either way the caller must not touch
 * it again, and its dispatch routine returns exactly the value returned
 * here. (A null `Device` completes the IRP with STATUS_INVALID_PARAMETER; a
 * null `Irp` returns it.) Requests of one handle may be dispatched concurrently. Once
 * `KchanDeleteDevice` has started, requests are completed with
 * STATUS_DELETE_PENDING.
 *
 * # Safety
 * `Device` came from `KchanCreateDevice`; `Irp` is the request the I/O
 * manager sent to `KchanDeviceObject(Device)`, owned by the caller.
 */
NTSTATUS KchanDispatch(struct KCHAN_DEVICE *Device,
                       IRP *Irp);

/**
 * Publishes one event of kind `Kind` (0 to 63) with `PayloadBytes` bytes at
 * `Payload` to every subscriber whose filter has the kind. Returns how many
 * received it: 0 also for a kind above 63 or a payload above the limit
 * (both counted as rejected in the device's statistics).
 *
 * IRQL: <= DISPATCH_LEVEL. It neither allocates nor waits: the payload is
 * copied into the subscribers' rings under a spin lock, and receives it
 * fills are completed after the lock is released. A subscriber whose ring
 * is full loses events according to its overflow policy, counted and
 * reported to it as a gap.
 *
 * Ownership: the payload stays the caller's; it is copied before the call
 * returns. `Payload` may be NULL when `PayloadBytes` is 0.
 *
 * # Safety
 * `Device` came from `KchanCreateDevice` and `KchanDeleteDevice` has not
 * started: stop every event source (timers, DPCs, callbacks, threads)
 * before deleting the device. `Payload` points to `PayloadBytes` readable
 * bytes of nonpaged memory when called above PASSIVE_LEVEL.
 */
ULONG KchanPublish(struct KCHAN_DEVICE *Device,
                   USHORT Kind,
                   const void *Payload,
                   ULONG PayloadBytes);

/**
 * Deletes `Device`: refuses new requests, waits for the dispatch routines in
 * progress, completes every pending receive (STATUS_CANCELLED), waits for
 * cancel routines already running, frees the channel and deletes the link
 * and the device object. Waits without a time limit, logging if it takes
 * long. If `KCHAN_CONFIG.RegistryPath` was given, writes the unload report
 * there once the device is gone: the library's live allocations and bytes,
 * 0 and 0 unless it leaked, and the events still waiting unread in the
 * rings of handles open at the deletion, which went with them (counted
 * dropped at close); with several devices, the last one deleted leaves the
 * final report.
 *
 * IRQL: PASSIVE_LEVEL (typically in `DriverUnload`, or on `DriverEntry`'s
 * failure path).
 *
 * Ownership: `Device` is invalid when the call returns. Event sources must
 * have stopped before the call (no `KchanPublish` running or to come).
 * Clients with open handles see their receives complete with
 * STATUS_CANCELLED and later requests fail.
 *
 * # Safety
 * `Device` came from `KchanCreateDevice` and is deleted once.
 */
void KchanDeleteDevice(struct KCHAN_DEVICE *Device);

#ifdef __cplusplus
}  // extern "C"
#endif  // __cplusplus

#endif  /* KCHAN_KM_H */
