//! Text helpers shared by the URL, error and callback code. Written out by hand: `str`'s own
//! substring search and a URL crate would bring kilobytes of .wasm for these few lines, and
//! `format!` or `to_string` on a number would bring `core::fmt` (messages are joined from their
//! pieces with `concat`, numbers written with [`decimal`]).
//!
//! This module imports nothing from the crate, so every other module may use it.

/// The byte offset of `needle` in `haystack`; `Some(0)` for an empty needle.
pub(crate) fn find_str(haystack: &str, needle: &str) -> Option<usize> {
    let needle = needle.as_bytes();
    if needle.is_empty() {
        return Some(0);
    }
    haystack
        .as_bytes()
        .windows(needle.len())
        .position(|window| window == needle)
}

/// `text` with every occurrence of a non-empty `needle` replaced by `with`.
pub(crate) fn replace_all(text: &str, needle: &str, with: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = find_str(rest, needle) {
        out.push_str(rest.get(..at).unwrap_or_default());
        out.push_str(with);
        rest = rest.get(at + needle.len()..).unwrap_or_default();
    }
    out.push_str(rest);
    out
}

/// `number` in decimal, e.g. `-42`.
pub(crate) fn decimal(number: i64) -> String {
    let mut digits = Vec::with_capacity(20);
    let mut rest = number.unsigned_abs();
    loop {
        // `rest % 10` is below 10: the cast keeps it.
        digits.push(b'0' + (rest % 10) as u8);
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    if number < 0 {
        digits.push(b'-');
    }
    digits
        .iter()
        .rev()
        .map(|&digit| char::from(digit))
        .collect()
}

/// Appends `byte` as two upper-case hex digits.
pub(crate) fn push_hex(out: &mut String, byte: u8) {
    let digit = |nibble: u8| {
        char::from(if nibble < 10 {
            b'0' + nibble
        } else {
            b'A' + nibble - 10
        })
    };
    out.push(digit(byte >> 4));
    out.push(digit(byte & 0x0f));
}

fn is_unreserved(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~')
}

/// RFC 3986 percent-encoding of everything but the unreserved characters.
pub(crate) fn percent_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if is_unreserved(byte) {
            out.push(char::from(byte));
        } else {
            out.push('%');
            push_hex(&mut out, byte);
        }
    }
    out
}

/// Decodes `application/x-www-form-urlencoded` text: `+` is a space, `%XX` a byte; `None` for a
/// broken escape or bytes that are not UTF-8.
pub(crate) fn form_decode(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.bytes();
    while let Some(byte) = rest.next() {
        bytes.push(match byte {
            b'+' => b' ',
            b'%' => {
                let high = char::from(rest.next()?).to_digit(16)?;
                let low = char::from(rest.next()?).to_digit(16)?;
                u8::try_from(high * 16 + low).ok()?
            }
            other => other,
        });
    }
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_writes_what_display_writes() {
        for number in [
            0,
            7,
            -7,
            10,
            66_660_004,
            -9_007_199_254_740_991,
            i64::MIN,
            i64::MAX,
        ] {
            assert_eq!(decimal(number), number.to_string());
        }
    }

    #[test]
    fn hex_digits_are_upper_case() {
        let mut digits = String::new();
        for byte in [0x01, 0x23, 0x45, 0x67, 0x89, 0xAB, 0xCD, 0xEF] {
            push_hex(&mut digits, byte);
        }
        assert_eq!(digits, "0123456789ABCDEF");
    }
}
