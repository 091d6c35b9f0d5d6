//! What a driver image says about itself: the PE header fields Windows'
//! loader and code integrity judge, read with the `object` crate.

use anyhow::{Context, Result};
use object::pe::{ImageNtHeaders64, IMAGE_DIRECTORY_ENTRY_TLS};
use object::read::pe::{ImageNtHeaders as _, ImageOptionalHeader as _, Import, PeFile64};
use object::{LittleEndian as LE, Object as _, ObjectSection as _};

/// One section header, as the loader maps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    /// The section's name (long names resolved through the string table).
    pub name: String,
    /// `IMAGE_SCN_*` flags.
    pub characteristics: u32,
}

/// The facts of a 64-bit PE image that the checks judge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFacts {
    /// The optional header's subsystem field.
    pub subsystem: u16,
    /// Imported modules, as written in the image, each with its imported
    /// names (`#N` for an import by ordinal).
    pub imports: Vec<(String, Vec<String>)>,
    /// The section headers.
    pub sections: Vec<Section>,
    /// `SectionAlignment` of the optional header.
    pub section_alignment: u32,
    /// `DllCharacteristics` of the optional header.
    pub dll_characteristics: u16,
    /// Whether the TLS data directory is present.
    pub has_tls: bool,
    /// The checksum stored in the optional header.
    pub stored_checksum: u32,
    /// The checksum computed over the file (see [`super::checksum`]).
    pub computed_checksum: u32,
}

impl ImageFacts {
    /// The DLL names in the import directory.
    pub fn modules(&self) -> Vec<&str> {
        self.imports.iter().map(|(m, _)| m.as_str()).collect()
    }
}

/// Reads the facts of a 64-bit PE image.
pub fn image_facts(bytes: &[u8]) -> Result<ImageFacts> {
    let pe = PeFile64::parse(bytes).context("not a 64-bit PE image")?;
    let optional = pe.nt_headers().optional_header();
    let mut imports = Vec::new();
    if let Some(table) = pe.import_table()? {
        let mut descriptors = table.descriptors()?;
        while let Some(descriptor) = descriptors.next()? {
            let module = String::from_utf8_lossy(table.name(descriptor.name.get(LE))?).into_owned();
            // The lookup table (OriginalFirstThunk), else the address table.
            let first = match descriptor.original_first_thunk.get(LE) {
                0 => descriptor.first_thunk.get(LE),
                rva => rva,
            };
            let mut names = Vec::new();
            let mut thunks = table.thunks(first)?;
            while let Some(thunk) = thunks.next::<ImageNtHeaders64>()? {
                names.push(match table.import::<ImageNtHeaders64>(thunk)? {
                    Import::Name(_hint, name) => String::from_utf8_lossy(name).into_owned(),
                    Import::Ordinal(n) => format!("#{n}"),
                });
            }
            imports.push((module, names));
        }
    }
    let sections = pe
        .sections()
        .map(|s| Section {
            name: s.name().unwrap_or("?").to_string(),
            characteristics: s.pe_section().characteristics.get(LE),
        })
        .collect();
    let has_tls = pe.data_directory(IMAGE_DIRECTORY_ENTRY_TLS).is_some_and(|d| d.virtual_address.get(LE) != 0);
    Ok(ImageFacts {
        subsystem: optional.subsystem(),
        imports,
        sections,
        section_alignment: optional.section_alignment(),
        dll_characteristics: optional.dll_characteristics(),
        has_tls,
        stored_checksum: optional.check_sum(),
        computed_checksum: super::checksum::compute(bytes)?,
    })
}
