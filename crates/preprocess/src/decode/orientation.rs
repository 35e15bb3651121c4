//! The EXIF orientation of a file, found where Pillow's `Image.getexif()` finds it, so that
//! applying it matches `ImageOps.exif_transpose` (what transformers' `load_image` does).
//!
//! Pillow reads the Orientation tag (0x0112) from IFD0 of the EXIF block: a JPEG's first `APP1`
//! segment starting `Exif\0\0` (before the first scan), or a PNG's `eXIf` chunk (before or after
//! the image data) or, failing that, a PNG `tEXt`/`iTXt` chunk `Raw profile type exif` (hex, as
//! ImageMagick writes it). Only if the EXIF block has no Orientation tag does it look for
//! `tiff:Orientation="N"` or `<tiff:Orientation>N` in the XMP packet (a JPEG's last XMP `APP1`,
//! a PNG's `XML:com.adobe.xmp` text). Values other than 2..=8 leave the image as stored.
//!
//! Not read (Pillow would): compressed (`zTXt`, compressed `iTXt`) PNG text chunks. A malformed
//! EXIF block, on which Pillow's `exif_transpose` raises, is ignored here (image kept as stored).

/// The Orientation tag's value in a TIFF-structured EXIF block (without the `Exif\0\0` prefix),
/// `None` if the block has no such tag in IFD0 (or is unreadable). Integer types with one value,
/// which Pillow returns as a plain number (`SHORT` per the standard, also `BYTE` and `LONG`).
pub(crate) fn exif_tag(tiff: &[u8]) -> Option<u32> {
    let big = match tiff.get(..4)? {
        b"II\x2a\x00" => false,
        b"MM\x00\x2a" => true,
        _ => return None,
    };
    let u16_at = |at: usize| -> Option<u16> {
        let b: [u8; 2] = tiff.get(at..at.checked_add(2)?)?.try_into().ok()?;
        Some(if big {
            u16::from_be_bytes(b)
        } else {
            u16::from_le_bytes(b)
        })
    };
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = tiff.get(at..at.checked_add(4)?)?.try_into().ok()?;
        Some(if big {
            u32::from_be_bytes(b)
        } else {
            u32::from_le_bytes(b)
        })
    };
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    let count = usize::from(u16_at(ifd)?);
    (0..count).find_map(|i| {
        let entry = ifd.checked_add(2)?.checked_add(i.checked_mul(12)?)?;
        if u16_at(entry)? != 0x0112 {
            return None;
        }
        let (kind, n) = (u16_at(entry + 2)?, u32_at(entry + 4)?);
        if n != 1 {
            return None;
        }
        match kind {
            1 => tiff.get(entry + 8).map(|&b| u32::from(b)),
            3 => u16_at(entry + 8).map(u32::from),
            4 => u32_at(entry + 8),
            _ => None,
        }
    })
}

/// The digit of the first `tiff:Orientation="N"` or `tiff:Orientation>N` in an XMP packet
/// (Pillow's regular expression `tiff:Orientation(="|>)([0-9])`).
pub(crate) fn xmp_tag(xmp: &[u8]) -> Option<u32> {
    const KEY: &[u8] = b"tiff:Orientation";
    let mut rest = xmp;
    while let Some(at) = rest.windows(KEY.len()).position(|w| w == KEY) {
        let after = &rest[at + KEY.len()..];
        let digit = match after {
            [b'=', b'"', d, ..] | [b'>', d, ..] => Some(*d),
            _ => None,
        };
        if let Some(d) = digit.filter(u8::is_ascii_digit) {
            return Some(u32::from(d - b'0'));
        }
        rest = &rest[at + 1..];
    }
    None
}

/// Pillow's choice: the EXIF tag if present, else the XMP one.
pub(crate) fn resolve(exif: Option<&[u8]>, xmp: Option<&[u8]>) -> u32 {
    exif.and_then(exif_tag)
        .or_else(|| xmp.and_then(xmp_tag))
        .unwrap_or(1)
}

/// EXIF and XMP blocks of a PNG, from its chunks (walked to `IEND` or the end of the data).
pub(crate) fn png_orientation(data: &[u8]) -> u32 {
    let mut exif: Option<Vec<u8>> = None;
    let mut raw_profile: Option<Vec<u8>> = None;
    let mut xmp: Option<&[u8]> = None;
    let mut at = 8usize;
    while let Some(header) = data.get(at..at.saturating_add(8)) {
        let len = u32::from_be_bytes([header[0], header[1], header[2], header[3]]) as usize;
        let Some(body) = at
            .checked_add(8)
            .and_then(|start| data.get(start..start.checked_add(len)?))
        else {
            break;
        };
        match &header[4..8] {
            // Pillow keeps the last of each (eXIf, text keys); a leading "Exif\0\0" is stripped.
            b"eXIf" => exif = Some(body.strip_prefix(b"Exif\0\0").unwrap_or(body).to_vec()),
            b"tEXt" => {
                if let Some(text) = body.strip_prefix(b"Raw profile type exif\0") {
                    raw_profile = raw_profile_exif(text);
                } else if let Some(text) = body.strip_prefix(b"XML:com.adobe.xmp\0") {
                    xmp = Some(text);
                }
            }
            b"iTXt" => {
                // keyword \0 compression-flag compression-method language \0 translated \0 text
                if let Some(rest) = body.strip_prefix(b"XML:com.adobe.xmp\0\0\0") {
                    let mut parts = rest.splitn(3, |&b| b == 0);
                    if let (Some(_), Some(_), Some(text)) = (parts.next(), parts.next(), parts.next()) {
                        xmp = Some(text);
                    }
                }
            }
            b"IEND" => break,
            _ => {}
        }
        at = match at.checked_add(12).and_then(|a| a.checked_add(len)) {
            Some(next) => next,
            None => break,
        };
    }
    let exif = exif.or(raw_profile);
    resolve(exif.as_deref(), xmp)
}

/// ImageMagick's `Raw profile type exif` text: a newline, the name, the length, then hex digits
/// over several lines (Pillow drops the first three lines and decodes the rest as hex).
fn raw_profile_exif(text: &[u8]) -> Option<Vec<u8>> {
    let hex: Vec<u8> = text
        .split(|&b| b == b'\n')
        .skip(3)
        .flatten()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let nibble = |c: u8| char::from(c).to_digit(16);
    let bytes: Option<Vec<u8>> = hex
        .chunks(2)
        .map(|p| match p {
            [h, l] => Some(u8::try_from(nibble(*h)? * 16 + nibble(*l)?).ok()?),
            _ => None,
        })
        .collect();
    let bytes = bytes?;
    Some(
        bytes
            .strip_prefix(b"Exif\0\0")
            .map_or_else(|| bytes.clone(), <[u8]>::to_vec),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tiff(big: bool, kind: u16, count: u32, value: u32) -> Vec<u8> {
        let mut t = Vec::new();
        type Bytes16 = fn(u16) -> [u8; 2];
        type Bytes32 = fn(u32) -> [u8; 4];
        let (u16b, u32b): (Bytes16, Bytes32) = if big {
            (u16::to_be_bytes, u32::to_be_bytes)
        } else {
            (u16::to_le_bytes, u32::to_le_bytes)
        };
        t.extend_from_slice(if big { b"MM\x00\x2a" } else { b"II\x2a\x00" });
        t.extend_from_slice(&u32b(8));
        t.extend_from_slice(&u16b(2));
        // An unrelated tag first (ImageWidth), then Orientation.
        for (tag, kind, count, value) in [(0x0100u16, 3u16, 1u32, 640u32), (0x0112, kind, count, value)] {
            t.extend_from_slice(&u16b(tag));
            t.extend_from_slice(&u16b(kind));
            t.extend_from_slice(&u32b(count));
            if kind == 3 {
                t.extend_from_slice(&u16b(u16::try_from(value).unwrap()));
                t.extend_from_slice(&[0, 0]);
            } else if kind == 1 {
                t.extend_from_slice(&[u8::try_from(value).unwrap(), 0, 0, 0]);
            } else {
                t.extend_from_slice(&u32b(value));
            }
        }
        t.extend_from_slice(&u32b(0));
        t
    }

    #[test]
    fn exif_orientation_in_both_byte_orders_and_integer_types() {
        for big in [false, true] {
            for (kind, value) in [(3, 6), (4, 8), (1, 3)] {
                assert_eq!(exif_tag(&tiff(big, kind, 1, value)), Some(value), "{big} {kind}");
            }
            // Two values, or a rational: not a plain number in Pillow either.
            assert_eq!(exif_tag(&tiff(big, 3, 2, 6)), None);
            assert_eq!(exif_tag(&tiff(big, 5, 1, 6)), None);
        }
        let t = tiff(false, 3, 1, 6);
        // The Orientation value ends at byte 32 (header 8, count 2, first entry 12, tag/type/count 8).
        for cut in 0..32 {
            assert_eq!(exif_tag(&t[..cut]), None, "cut at {cut}");
        }
        assert_eq!(exif_tag(&t[..32]), Some(6));
        assert_eq!(exif_tag(b"XX\x2a\x00\x08\x00\x00\x00"), None);
    }

    #[test]
    fn xmp_attribute_and_element_forms() {
        assert_eq!(xmp_tag(br#"<x tiff:Orientation="6"/>"#), Some(6));
        assert_eq!(xmp_tag(b"<tiff:Orientation>8</tiff:Orientation>"), Some(8));
        assert_eq!(xmp_tag(br#"tiff:Orientation='6' tiff:Orientation="3""#), Some(3));
        assert_eq!(xmp_tag(b"tiff:Orientation"), None);
        assert_eq!(xmp_tag(br#"tiff:Orientation="x""#), None);
    }

    #[test]
    fn exif_wins_over_xmp_even_when_it_says_upright() {
        let xmp = br#"tiff:Orientation="6""#;
        assert_eq!(resolve(Some(&tiff(false, 3, 1, 1)), Some(xmp)), 1);
        assert_eq!(resolve(Some(b"not exif"), Some(xmp)), 6);
        assert_eq!(resolve(None, None), 1);
    }

    #[test]
    fn imagemagick_raw_profile() {
        let exif = tiff(false, 3, 1, 5);
        let hex: String = [b"Exif\0\0".as_slice(), &exif]
            .concat()
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let text = format!("\nexif\n{:8}\n{}\n{}\n", exif.len() + 6, &hex[..20], &hex[20..]);
        let parsed = raw_profile_exif(text.as_bytes()).unwrap();
        assert_eq!(exif_tag(&parsed), Some(5));
    }
}
