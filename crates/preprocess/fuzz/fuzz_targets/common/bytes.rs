//! Reading little fields off the front of a fuzz input (shared by the frame targets).

/// The unread rest of the input; reads past the end give zeros / shorter slices.
pub struct Bytes<'a>(pub &'a [u8]);

impl<'a> Bytes<'a> {
    /// The next byte (0 once the input is used up).
    pub fn u8(&mut self) -> u8 {
        let (&b, rest) = self.0.split_first().unwrap_or((&0, &[]));
        self.0 = rest;
        b
    }

    /// The next two bytes, little-endian.
    pub fn u16(&mut self) -> u16 {
        u16::from(self.u8()) | (u16::from(self.u8()) << 8)
    }

    /// A slice of at most `len` bytes from the rest.
    pub fn take(&mut self, len: usize) -> &'a [u8] {
        let n = len.min(self.0.len());
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        a
    }
}
