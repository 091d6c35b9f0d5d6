//! Intrusive doubly linked lists over `LIST_ENTRY` (the `wdm.h` inlines
//! `InitializeListHead`, `InsertTailList`, `RemoveEntryList`,
//! `RemoveHeadList`, `IsListEmpty`).
//!
//! All functions take raw pointers: entries live inside kernel objects (an
//! IRP's `Tail.Overlay.ListEntry`), and the list is protected by whatever
//! lock its owner documents.

use crate::ffi::ListEntry;
use core::ptr;

/// `InitializeListHead`.
///
/// # Safety
/// `head` is valid for writes, and not in any list. Any IRQL.
pub unsafe fn init(head: *mut ListEntry) {
    // SAFETY: valid for writes and not shared (caller).
    let h = unsafe { &mut *head };
    h.flink = head;
    h.blink = head;
}

/// `IsListEmpty`.
///
/// # Safety
/// `head` is an initialized list head; the caller holds the list's lock.
pub unsafe fn is_empty(head: *const ListEntry) -> bool {
    // SAFETY: initialized head, access serialized by the caller's lock.
    unsafe { ptr::eq((*head).flink, head) }
}

/// `InsertTailList`.
///
/// # Safety
/// `head` is an initialized list head, `entry` is valid and in no list; the
/// caller holds the list's lock.
pub unsafe fn push_back(head: *mut ListEntry, entry: *mut ListEntry) {
    // SAFETY (each block below): `head`, its last member and `entry` are
    // valid (caller), and the caller's lock serializes every list mutation.
    // SAFETY: see above.
    let last = unsafe { (*head).blink };
    // SAFETY: see above.
    unsafe { (*entry).flink = head };
    // SAFETY: see above.
    unsafe { (*entry).blink = last };
    // SAFETY: see above.
    unsafe { (*last).flink = entry };
    // SAFETY: see above.
    unsafe { (*head).blink = entry };
}

/// `RemoveEntryList`: unlinks `entry` and makes it point to itself, so a
/// second removal is harmless.
///
/// # Safety
/// `entry` is in a list (or self-linked); the caller holds the list's lock.
pub unsafe fn remove(entry: *mut ListEntry) {
    // SAFETY (each block below): `entry` and its neighbours are valid
    // members of the same list (caller), and the caller's lock serializes
    // every list mutation.
    // SAFETY: see above.
    let e = unsafe { &mut *entry };
    let (next, prev) = (e.flink, e.blink);
    // SAFETY: see above.
    unsafe { (*prev).flink = next };
    // SAFETY: see above.
    unsafe { (*next).blink = prev };
    e.flink = entry;
    e.blink = entry;
}

/// `RemoveHeadList`, or `None` when empty.
///
/// # Safety
/// As [`remove`], for an initialized head.
pub unsafe fn pop_front(head: *mut ListEntry) -> Option<*mut ListEntry> {
    // SAFETY: initialized head, caller holds the lock.
    if unsafe { is_empty(head) } {
        return None;
    }
    // SAFETY: as above; the list is not empty so `flink` is a member.
    let first = unsafe { (*head).flink };
    // SAFETY: `first` is a member of this list; lock held by the caller.
    unsafe { remove(first) };
    Some(first)
}
