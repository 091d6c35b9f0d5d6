//! The device's security descriptor, as a self-relative
//! `SECURITY_DESCRIPTOR` built at compile time: a protected DACL that
//! grants SYSTEM and Administrators all access and everyone else read
//! access only (SDDL `D:P(A;;FA;;;SY)(A;;FA;;;BA)(A;;FR;;;WD)`). So any
//! user may open the device for reading, subscribe and receive, and only
//! SYSTEM and Administrators may open it for writing, which `INJECT`,
//! `GEN_START` and `GEN_STOP` need.
//!
//! `IoCreateDeviceSecure` is a static library of the WDK (`wdmsec.lib`),
//! not a kernel export, and mingw has none; so the WDM layer creates the
//! device and then sets this descriptor (`ZwSetSecurityObject`). Written
//! by hand, it is checked here on the host.

/// `FILE_ALL_ACCESS`.
pub const FILE_ALL_ACCESS: u32 = 0x001F_01FF;
/// `FILE_GENERIC_READ`: `FILE_READ_DATA`, attributes, EAs, `READ_CONTROL`,
/// `SYNCHRONIZE`.
pub const FILE_GENERIC_READ: u32 = 0x0012_0089;

/// S-1-5-18, LocalSystem.
const SYSTEM: [u8; 12] = [1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0];
/// S-1-5-32-544, BUILTIN\Administrators.
const ADMINISTRATORS: [u8; 16] = [1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 0x20, 2, 0, 0];
/// S-1-1-0, Everyone.
const EVERYONE: [u8; 12] = [1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0];

const HEADER: usize = 20;
const ACL_HEADER: usize = 8;
const ACE_HEADER: usize = 8;
/// Total size of the descriptor.
pub const DESCRIPTOR_BYTES: usize =
    HEADER + ACL_HEADER + 3 * ACE_HEADER + SYSTEM.len() + ADMINISTRATORS.len() + EVERYONE.len();

/// `SE_DACL_PRESENT | SE_DACL_PROTECTED | SE_SELF_RELATIVE`.
const CONTROL: u16 = 0x0004 | 0x1000 | 0x8000;

const fn put(out: &mut [u8; DESCRIPTOR_BYTES], at: usize, bytes: &[u8]) -> usize {
    let mut i = 0;
    while i < bytes.len() {
        out[at + i] = bytes[i];
        i += 1;
    }
    at + bytes.len()
}

const fn ace(out: &mut [u8; DESCRIPTOR_BYTES], at: usize, mask: u32, sid: &[u8]) -> usize {
    let size = (ACE_HEADER + sid.len()) as u16;
    // ACCESS_ALLOWED_ACE_TYPE (0), no flags, size; the mask; the SID.
    let at = put(out, at, &[0, 0]);
    let at = put(out, at, &size.to_le_bytes());
    let at = put(out, at, &mask.to_le_bytes());
    put(out, at, sid)
}

const fn build() -> [u8; DESCRIPTOR_BYTES] {
    let mut out = [0u8; DESCRIPTOR_BYTES];
    // SECURITY_DESCRIPTOR_RELATIVE: revision 1, control, no owner, group
    // or SACL, the DACL right after the header.
    let at = put(&mut out, 0, &[1, 0]);
    let at = put(&mut out, at, &CONTROL.to_le_bytes());
    let at = put(&mut out, at, &[0; 12]);
    let at = put(&mut out, at, &(HEADER as u32).to_le_bytes());
    // ACL: revision 2, size, 3 ACEs.
    let at = put(&mut out, at, &[2, 0]);
    let at = put(&mut out, at, &((DESCRIPTOR_BYTES - HEADER) as u16).to_le_bytes());
    let at = put(&mut out, at, &3u16.to_le_bytes());
    let at = put(&mut out, at, &[0, 0]);
    let at = ace(&mut out, at, FILE_ALL_ACCESS, &SYSTEM);
    let at = ace(&mut out, at, FILE_ALL_ACCESS, &ADMINISTRATORS);
    let at = ace(&mut out, at, FILE_GENERIC_READ, &EVERYONE);
    assert!(at == DESCRIPTOR_BYTES);
    out
}

/// 8-byte aligned storage, as the kernel expects of a descriptor.
#[repr(C, align(8))]
struct Aligned([u8; DESCRIPTOR_BYTES]);

static DESCRIPTOR: Aligned = Aligned(build());

/// The device's self-relative security descriptor.
pub fn device_descriptor() -> &'static [u8; DESCRIPTOR_BYTES] {
    &DESCRIPTOR.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u16_at(b: &[u8], at: usize) -> u16 {
        u16::from_le_bytes([b[at], b[at + 1]])
    }
    fn u32_at(b: &[u8], at: usize) -> u32 {
        u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
    }

    /// Reads the descriptor back as the kernel would and lists its ACEs.
    #[test]
    fn grants_all_to_system_and_administrators_and_read_to_everyone() {
        let sd = device_descriptor();
        assert_eq!(sd[0], 1, "revision");
        assert_eq!(u16_at(sd, 2), CONTROL);
        assert_eq!((u32_at(sd, 4), u32_at(sd, 8), u32_at(sd, 12)), (0, 0, 0), "no owner, group, SACL");
        let dacl = u32_at(sd, 16) as usize;
        assert_eq!((sd[dacl], u16_at(sd, dacl + 2) as usize, u16_at(sd, dacl + 4)), (2, sd.len() - dacl, 3));
        let mut at = dacl + 8;
        let mut aces = Vec::new();
        for _ in 0..3 {
            let (kind, size, mask) = (sd[at], u16_at(sd, at + 2) as usize, u32_at(sd, at + 4));
            assert_eq!(kind, 0, "access allowed");
            let sid = &sd[at + 8..at + size];
            assert_eq!(sid.len(), 8 + 4 * sid[1] as usize, "SID length matches its sub-authority count");
            let rid = u32_at(sid, sid.len() - 4);
            aces.push((sid[7], rid, mask));
            at += size;
        }
        assert_eq!(at, sd.len());
        assert_eq!(aces, [(5, 18, FILE_ALL_ACCESS), (5, 544, FILE_ALL_ACCESS), (1, 0, FILE_GENERIC_READ)]);
        assert_eq!(FILE_GENERIC_READ & 0x2, 0, "others get no FILE_WRITE_DATA");
    }
}
