//! The PE image checksum (`OptionalHeader.CheckSum`).
//!
//! Windows verifies it for drivers (and boot-start images) before loading
//! them: a driver whose checksum is 0 or wrong fails to load with
//! `STATUS_IMAGE_CHECKSUM_MISMATCH`. GNU ld leaves it 0, so the build writes
//! it ([`fix`]) and every check recomputes it ([`compute`]).
//!
//! The algorithm is `CheckSumMappedFile`'s: the file as little-endian 16-bit
//! words, with the checksum field itself read as zero, summed with the carry
//! folded back in, plus the file length.

use anyhow::{bail, Context, Result};
use std::path::Path;

/// Offset of `CheckSum` from the start of the optional header (the same in
/// PE32 and PE32+).
const CHECKSUM_IN_OPTIONAL_HEADER: usize = 64;

/// File offset of the checksum field.
fn checksum_offset(bytes: &[u8]) -> Result<usize> {
    let e_lfanew = bytes.get(0x3c..0x40).context("no DOS header")?;
    let nt = u32::from_le_bytes(e_lfanew.try_into().expect("4 bytes")) as usize;
    if bytes.get(nt..nt + 4) != Some(b"PE\0\0") {
        bail!("no PE signature");
    }
    // Signature (4) + IMAGE_FILE_HEADER (20), then the optional header.
    let offset = nt + 4 + 20 + CHECKSUM_IN_OPTIONAL_HEADER;
    if offset + 4 > bytes.len() {
        bail!("truncated optional header");
    }
    Ok(offset)
}

/// The checksum Windows expects for `bytes`.
pub fn compute(bytes: &[u8]) -> Result<u32> {
    let skip = checksum_offset(bytes)?;
    let mut sum: u32 = 0;
    for (i, pair) in bytes.chunks(2).enumerate() {
        let at = i * 2;
        if at == skip || at == skip + 2 {
            continue;
        }
        let word = u16::from_le_bytes([pair[0], pair.get(1).copied().unwrap_or(0)]);
        sum += u32::from(word);
        sum = (sum & 0xffff) + (sum >> 16);
    }
    sum = (sum & 0xffff) + (sum >> 16);
    Ok(sum + bytes.len() as u32)
}

/// Writes the correct checksum into the image at `path`; returns it.
pub fn fix(path: &Path) -> Result<u32> {
    let mut bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let offset = checksum_offset(&bytes).with_context(|| format!("{} is not a PE image", path.display()))?;
    let sum = compute(&bytes)?;
    bytes[offset..offset + 4].copy_from_slice(&sum.to_le_bytes());
    std::fs::write(path, &bytes).with_context(|| format!("writing {}", path.display()))?;
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal header: DOS stub pointing at a PE signature, and room for
    /// the optional header.
    fn tiny_image(len: usize) -> Vec<u8> {
        let mut b = vec![0u8; len];
        b[0..2].copy_from_slice(b"MZ");
        b[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
        b[0x40..0x44].copy_from_slice(b"PE\0\0");
        b
    }

    #[test]
    fn the_checksum_field_does_not_count_and_the_length_does() {
        let mut a = tiny_image(0x100);
        let base = compute(&a).unwrap();
        // Only "MZ", "PE\0\0" and e_lfanew are set: 0x5a4d + 0x40 + 0x4550 + len.
        assert_eq!(base, 0x5a4d + 0x40 + 0x4550 + 0x100);
        let offset = checksum_offset(&a).unwrap();
        a[offset..offset + 4].copy_from_slice(&0xdead_beefu32.to_le_bytes());
        assert_eq!(compute(&a).unwrap(), base, "the stored checksum is read as zero");
    }

    #[test]
    fn carries_fold_back_and_odd_lengths_pad_with_zero() {
        let mut a = tiny_image(0x101);
        for byte in &mut a[0x100..] {
            *byte = 0xff;
        }
        a[0xfe] = 0xff;
        a[0xff] = 0xff;
        // 0xffff + 0x00ff on top of the header words, with the carry folded.
        let header = 0x5a4du32 + 0x40 + 0x4550;
        let mut sum = header + 0xffff;
        sum = (sum & 0xffff) + (sum >> 16);
        sum += 0xff;
        sum = (sum & 0xffff) + (sum >> 16);
        assert_eq!(compute(&a).unwrap(), sum + 0x101);
    }

    #[test]
    fn rejects_what_has_no_pe_header() {
        assert!(compute(b"MZ").is_err());
        assert!(compute(&[0u8; 0x100]).is_err());
    }
}
