//! A bounded FIFO of injected records waiting for a pending receive.
//!
//! Temporary (phase 1): it stands in for `kchan-engine`'s subscriber rings.
//! Records are small (at most [`MAX_PAYLOAD`] bytes) and the box holds at
//! most [`CAPACITY`]; an inject that does not fit is refused whole.

/// Largest payload the slice accepts per injected record.
pub const MAX_PAYLOAD: usize = 64;
/// Records the mailbox holds.
pub const CAPACITY: usize = 32;

/// One injected record.
#[derive(Clone, Copy)]
pub struct Mail {
    /// Event kind.
    pub kind: u16,
    /// Payload length.
    pub len: u16,
    /// Payload bytes (`..len`).
    pub payload: [u8; MAX_PAYLOAD],
    /// Publish time, 100 ns units.
    pub timestamp: u64,
}

impl Mail {
    /// The payload bytes.
    pub fn payload(&self) -> &[u8] {
        &self.payload[..usize::from(self.len)]
    }
}

/// Ring of [`Mail`].
pub struct Mailbox {
    slots: [Mail; CAPACITY],
    head: usize,
    len: usize,
}

impl Mailbox {
    /// An empty mailbox.
    pub const fn new() -> Self {
        const EMPTY: Mail = Mail { kind: 0, len: 0, payload: [0; MAX_PAYLOAD], timestamp: 0 };
        Self { slots: [EMPTY; CAPACITY], head: 0, len: 0 }
    }

    /// Free slots.
    pub fn room(&self) -> usize {
        CAPACITY - self.len
    }

    /// Appends; `false` when full or the payload is too large.
    pub fn push(&mut self, kind: u16, payload: &[u8], timestamp: u64) -> bool {
        if self.len == CAPACITY || payload.len() > MAX_PAYLOAD {
            return false;
        }
        let slot = &mut self.slots[(self.head + self.len) % CAPACITY];
        slot.kind = kind;
        slot.len = payload.len() as u16; // <= MAX_PAYLOAD, checked above
        slot.payload[..payload.len()].copy_from_slice(payload);
        slot.timestamp = timestamp;
        self.len += 1;
        true
    }

    /// Removes the oldest record.
    pub fn pop(&mut self) -> Option<Mail> {
        if self.len == 0 {
            return None;
        }
        let mail = self.slots[self.head];
        self.head = (self.head + 1) % CAPACITY;
        self.len -= 1;
        Some(mail)
    }

    /// Whether no record waits.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Default for Mailbox {
    fn default() -> Self {
        Self::new()
    }
}
