//! Just enough PNG and JPEG parsing to check sizes before decoding, and JPEG completeness.

/// Image size and where it came from, read from the file header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Header {
    pub(crate) width: u32,
    pub(crate) height: u32,
}

/// What the JPEG marker walk learnt about a complete file.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct JpegInfo<'a> {
    /// Size from the first frame header (`SOFn`).
    pub(crate) header: Header,
    /// Bits per sample (Pillow decodes only 8).
    pub(crate) precision: u8,
    /// Colour components: 1 (grayscale), 3 (YCbCr or RGB) or 4 (CMYK or YCCK) for Pillow.
    pub(crate) components: u8,
    /// The TIFF block of the first `APP1` segment starting `Exif\0\0` (before the first scan).
    pub(crate) exif: Option<&'a [u8]>,
    /// The packet of the last XMP `APP1` segment (before the first scan).
    pub(crate) xmp: Option<&'a [u8]>,
}

/// Outcome of the JPEG marker walk.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum JpegScan<'a> {
    /// Frame header found and the data reaches the end-of-image marker.
    Complete(JpegInfo<'a>),
    /// The data ends before the end-of-image marker (`header` if the frame header was seen).
    Truncated {
        header: Option<Header>,
        detail: &'static str,
    },
    /// Not a valid JPEG marker structure.
    Corrupt(&'static str),
}

/// Width and height from a PNG's `IHDR` chunk (which must come first), or `None` if the data is
/// too short or the first chunk is not `IHDR` (the decoder then reports the error).
pub(crate) fn png_header(data: &[u8]) -> Option<Header> {
    if data.get(12..16)? != b"IHDR" {
        return None;
    }
    let be = |at: usize| -> Option<u32> { Some(u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?)) };
    Some(Header {
        width: be(16)?,
        height: be(20)?,
    })
}

/// A problem with a PNG's `PLTE` chunk that the `png` crate (0.18) does not report but panics on:
/// a palette must hold 1 to 256 RGB entries, so its length is a non-zero multiple of 3 up to 768
/// (PNG spec 11.2.3; libpng refuses such files too). Chunks are walked up to the first `IDAT`
/// (the palette must come before it); anything unreadable is left for the decoder to report.
pub(crate) fn png_palette_problem(data: &[u8]) -> Option<String> {
    let mut at = 8;
    loop {
        let len = u32::from_be_bytes(data.get(at..at + 4)?.try_into().ok()?) as usize;
        let kind = data.get(at + 4..at + 8)?;
        match kind {
            b"PLTE" if len == 0 || !len.is_multiple_of(3) || len > 768 => {
                return Some(format!(
                    "PLTE chunk of {len} bytes (a palette is 1 to 256 RGB entries of 3 bytes)"
                ));
            }
            b"IDAT" | b"IEND" => return None,
            _ => at = at.checked_add(12)?.checked_add(len)?,
        }
    }
}

/// Walks a JPEG's segments from `SOI` to `EOI`, reading the frame size from the first `SOFn`.
///
/// Segments with a length are skipped whole (so a thumbnail's `EOI` inside `APP1` does not
/// count); after each `SOS`, the entropy-coded data is scanned to the next marker (`FF 00` is a
/// stuffed byte, `FF D0..D7` restart markers, repeated `FF` fill). Stray bytes between segments
/// are skipped as libjpeg does (it warns but decodes). Pillow refuses a JPEG whose data ends before
/// `EOI` ("image file is truncated"), and so do we; bytes after `EOI` are ignored.
pub(crate) fn scan_jpeg(data: &[u8]) -> JpegScan<'_> {
    if data.len() < 2 || data[0] != 0xFF || data[1] != 0xD8 {
        return JpegScan::Corrupt("missing start-of-image marker");
    }
    let mut header = None;
    let mut frame = (0u8, 0u8);
    let mut exif = None;
    let mut xmp = None;
    let mut scanned = false;
    let mut pos = 2;
    loop {
        // Find the next marker: skip stray bytes, then any 0xFF fill bytes.
        while pos < data.len() && data[pos] != 0xFF {
            pos += 1;
        }
        while pos < data.len() && data[pos] == 0xFF {
            pos += 1;
        }
        let Some(&marker) = data.get(pos) else {
            return JpegScan::Truncated {
                header,
                detail: "data ends before the end-of-image marker",
            };
        };
        pos += 1;
        match marker {
            0xD9 => {
                return match header {
                    Some(header) => JpegScan::Complete(JpegInfo {
                        header,
                        precision: frame.0,
                        components: frame.1,
                        exif,
                        xmp,
                    }),
                    None => JpegScan::Corrupt("end of image before any frame header"),
                };
            }
            // Standalone markers: restart, TEM, a stuffed zero outside a scan.
            0xD0..=0xD7 | 0x01 | 0x00 => continue,
            _ => {}
        }
        let Some(len_bytes) = data.get(pos..pos + 2) else {
            return JpegScan::Truncated {
                header,
                detail: "data ends inside a segment length",
            };
        };
        let len = usize::from(u16::from_be_bytes([len_bytes[0], len_bytes[1]]));
        if len < 2 {
            return JpegScan::Corrupt("segment length below 2");
        }
        let Some(segment) = data.get(pos + 2..pos + len) else {
            return JpegScan::Truncated {
                header,
                detail: "data ends inside a segment",
            };
        };
        pos += len;
        let is_sof = matches!(marker, 0xC0..=0xCF) && !matches!(marker, 0xC4 | 0xC8 | 0xCC);
        if is_sof && header.is_none() {
            // precision (1), height (2), width (2), components (1)
            if segment.len() < 6 {
                return JpegScan::Corrupt("frame header too short");
            }
            header = Some(Header {
                height: u32::from(u16::from_be_bytes([segment[1], segment[2]])),
                width: u32::from(u16::from_be_bytes([segment[3], segment[4]])),
            });
            frame = (segment[0], segment[5]);
        }
        if marker == 0xE1 && !scanned {
            if let Some(tiff) = segment.strip_prefix(b"Exif\0\0") {
                exif = exif.or(Some(tiff));
            } else if let Some(packet) = segment.strip_prefix(b"http://ns.adobe.com/xap/1.0/\0") {
                xmp = Some(packet);
            }
        }
        if marker == 0xDA {
            if header.is_none() {
                return JpegScan::Corrupt("scan before any frame header");
            }
            scanned = true;
            // Entropy-coded data runs to the next marker that is not a stuffed byte or restart.
            loop {
                match data.get(pos..pos + 2) {
                    None => {
                        return JpegScan::Truncated {
                            header,
                            detail: "data ends inside a scan",
                        };
                    }
                    Some([0xFF, next]) if *next != 0x00 && !(0xD0..=0xD7).contains(next) && *next != 0xFF => {
                        break;
                    }
                    Some([0xFF, 0xFF]) => pos += 1,
                    Some([0xFF, _]) => pos += 2,
                    Some(_) => pos += 1,
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn segment(marker: u8, body: &[u8]) -> Vec<u8> {
        let len = u16::try_from(body.len() + 2).unwrap().to_be_bytes();
        [&[0xFF, marker, len[0], len[1]][..], body].concat()
    }

    fn jpeg(parts: &[Vec<u8>]) -> Vec<u8> {
        [&[0xFF, 0xD8][..], &parts.concat()].concat()
    }

    #[test]
    fn walks_segments_scans_and_thumbnails() {
        let sof = segment(0xC0, &[8, 0, 17, 0, 23, 3]);
        let exif = segment(0xE1, b"Exif\0\0II*\0");
        let xmp = |n: u8| segment(0xE1, &[&b"http://ns.adobe.com/xap/1.0/\0"[..], &[n]].concat());
        // APP1 with an embedded EOI (a thumbnail) must not end the walk.
        let app1 = segment(0xE1, &[0xFF, 0xD9, 0xFF, 0xD8]);
        let sos = segment(0xDA, &[1, 1, 0, 0, 63, 0]);
        let ecs = vec![0x12, 0xFF, 0x00, 0x34, 0xFF, 0xD3, 0x56, 0x78];
        // EOI after fill bytes.
        let eoi = vec![0xFF, 0xFF, 0xD9];
        let full = jpeg(&[
            app1.clone(),
            exif.clone(),
            xmp(1),
            xmp(2),
            sof.clone(),
            sos.clone(),
            ecs.clone(),
            eoi.clone(),
            b"trailing".to_vec(),
        ]);
        let h = Header {
            width: 23,
            height: 17,
        };
        assert_eq!(
            scan_jpeg(&full),
            JpegScan::Complete(JpegInfo {
                header: h,
                precision: 8,
                components: 3,
                exif: Some(b"II*\0"),
                xmp: Some(&[2]),
            })
        );
        let no_eoi = jpeg(&[app1.clone(), sof.clone(), sos.clone(), ecs.clone()]);
        assert!(matches!(
            scan_jpeg(&no_eoi),
            JpegScan::Truncated { header: Some(_), .. }
        ));
        for cut in 2..full.len() - "trailing".len() {
            assert!(
                !matches!(scan_jpeg(&full[..cut]), JpegScan::Complete(_)),
                "complete at {cut}"
            );
        }
        assert!(matches!(scan_jpeg(b"\x89PNG"), JpegScan::Corrupt(_)));
        assert!(matches!(scan_jpeg(&jpeg(&[sos, eoi])), JpegScan::Corrupt(_)));
    }

    #[test]
    fn png_palette_lengths() {
        let chunk = |kind: &[u8; 4], len: u32| {
            let mut c = len.to_be_bytes().to_vec();
            c.extend_from_slice(kind);
            c.extend(std::iter::repeat_n(0u8, len as usize + 4));
            c
        };
        let png = |plte: u32| {
            let mut p = b"\x89PNG\r\n\x1a\n".to_vec();
            p.extend(chunk(b"IHDR", 13));
            p.extend(chunk(b"PLTE", plte));
            p.extend(chunk(b"IDAT", 2));
            p
        };
        for ok in [3, 48, 768] {
            assert_eq!(png_palette_problem(&png(ok)), None, "{ok}");
        }
        for bad in [0, 1, 49, 771] {
            assert!(
                png_palette_problem(&png(bad)).is_some_and(|d| d.contains(&bad.to_string())),
                "{bad}"
            );
        }
        // A palette after the image data is not looked at; truncated chunk lists are the decoder's.
        assert_eq!(png_palette_problem(&png(3)[..20]), None);
    }

    #[test]
    fn png_ihdr() {
        let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\x0dIHDR".to_vec();
        png.extend_from_slice(&20000u32.to_be_bytes());
        png.extend_from_slice(&3u32.to_be_bytes());
        assert_eq!(
            png_header(&png),
            Some(Header {
                width: 20000,
                height: 3
            })
        );
        assert_eq!(png_header(&png[..20]), None);
    }
}
