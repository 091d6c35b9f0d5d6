//! The state of one open handle, kept in its file object's two driver
//! words ([`HandleWords`]) so that an open allocates nothing:
//!
//! - `FsContext`: the handle's subscriber binding. [`Binding::Unbound`]
//!   from CREATE until the first SUBSCRIBE or RECV attaches a subscriber,
//!   then [`Binding::Bound`] to that one subscriber for the handle's life
//!   (SUBSCRIBE reconfigures it in place), then [`Binding::Closed`] from
//!   CLEANUP or CLOSE on. Every change happens under the channel lock, so
//!   two requests of one handle dispatched at once (Windows does that) see
//!   one binding; it is an atomic because it lives in memory the lock does
//!   not own.
//! - `FsContext2`: the access granted at CREATE, if the I/O manager said
//!   ([`Access`]). Written by CREATE before any other request of the handle
//!   exists; read-only after.

use crate::kernel::HandleWords;
use crate::sync::Ordering;
use kchan_engine::SubscriberId;

const UNBOUND: u64 = 0;
const CLOSED: u64 = u64::MAX;

/// A handle's subscriber binding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// No subscriber yet: nothing allocated for this handle.
    Unbound,
    /// The handle's subscriber.
    Bound(SubscriberId),
    /// CLEANUP or CLOSE ran: the handle gets no subscriber any more.
    Closed,
}

impl Binding {
    fn encode(self) -> u64 {
        match self {
            Binding::Unbound => UNBOUND,
            // Ids are a 32-bit index and generation: `+ 1` never reaches CLOSED.
            Binding::Bound(id) => id.to_u64() + 1,
            Binding::Closed => CLOSED,
        }
    }

    fn decode(raw: u64) -> Binding {
        match raw {
            UNBOUND => Binding::Unbound,
            CLOSED => Binding::Closed,
            raw => Binding::Bound(SubscriberId::from_u64(raw - 1)),
        }
    }
}

/// The handle's binding. Change it only under the channel lock.
pub fn binding(words: &HandleWords<'_>) -> Binding {
    // Acquire: pairs with `set_binding`'s Release (the lock orders them
    // too; the atomic keeps the field's accesses well defined).
    Binding::decode(words.binding.load(Ordering::Acquire))
}

/// Sets the handle's binding. Call under the channel lock.
pub fn set_binding(words: &HandleWords<'_>, binding: Binding) {
    // Release: see `binding`.
    words.binding.store(binding.encode(), Ordering::Release);
}

/// Access recorded for a handle at CREATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// The I/O manager did not say (Wine passes no security context): the
    /// I/O manager's own check of the IOCTL code's access bits is the only
    /// one.
    Unknown,
    /// The access mask granted to the handle (`FILE_READ_DATA`, ...).
    Granted(u32),
}

const ACCESS_KNOWN: u64 = 1 << 32;

/// Records `access` for a new handle (CREATE), and starts it unbound.
pub fn init(words: &HandleWords<'_>, access: Access) {
    let raw = match access {
        Access::Unknown => 0,
        Access::Granted(mask) => ACCESS_KNOWN | u64::from(mask),
    };
    // Relaxed: CREATE runs before any other request of this file object
    // exists; the I/O manager orders it before them.
    words.access.store(raw, Ordering::Relaxed);
    words.binding.store(UNBOUND, Ordering::Relaxed);
}

/// The access recorded at CREATE.
pub fn access(words: &HandleWords<'_>) -> Access {
    // Relaxed: written once by CREATE, before this request existed.
    let raw = words.access.load(Ordering::Relaxed);
    if raw & ACCESS_KNOWN == 0 {
        Access::Unknown
    } else {
        Access::Granted(raw as u32)
    }
}

impl Access {
    /// Whether the handle may send a request needing `required`
    /// (`FILE_READ_DATA`, `FILE_WRITE_DATA`, or 0 for none).
    pub fn allows(self, required: u32) -> bool {
        match self {
            Access::Unknown => true,
            Access::Granted(mask) => mask & required == required,
        }
    }
}
