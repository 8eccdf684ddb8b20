//! Number formatting and URL encoding functions: `$formatNumber` (the decimal-format picture
//! language of XPath F&O 3.1 §4.7, without exponents), `$formatBase`, `$encodeUrl`,
//! `$encodeUrlComponent`, `$decodeUrl`, `$decodeUrlComponent`.

use super::error::JError;

/// `$formatNumber(n, picture)`: digits `0` (mandatory) and `#` (optional), `,` grouping,
/// `.` decimal separator, `%`/`‰` in the prefix or suffix multiply by 100/1000, an optional
/// `;`-separated sub-picture for negative numbers. Rounds half to even.
///
/// Errors: `D3080` (more than two sub-pictures), `D3085` (no digit in the picture), `U1003`
/// (exponent pictures such as `0.0e0`, not supported by flowc).
pub(crate) fn format_number(n: f64, picture: &str) -> Result<String, JError> {
    let parts: Vec<&str> = picture.split(';').collect();
    if parts.len() > 2 {
        return Err(JError::new(
            "D3080",
            "The picture string must only contain a maximum of two sub-pictures",
            0,
        ));
    }
    let (sub, negative_prefix) = match (n < 0.0, parts.get(1)) {
        (true, Some(neg)) => (*neg, ""),
        (true, None) => (parts[0], "-"),
        _ => (parts[0], ""),
    };
    let pic = Picture::parse(sub)?;
    let scaled = n.abs() * pic.scale;
    let body = pic.digits(scaled);
    Ok(format!(
        "{negative_prefix}{}{body}{}",
        pic.prefix, pic.suffix
    ))
}

/// One parsed sub-picture.
struct Picture {
    prefix: String,
    suffix: String,
    min_int: usize,
    min_frac: usize,
    max_frac: usize,
    /// Grouping separator positions counted from the decimal point (regular groups repeat).
    groups: Vec<usize>,
    regular: Option<usize>,
    scale: f64,
}

fn is_active(c: char) -> bool {
    c.is_ascii_digit() || matches!(c, '#' | '.' | ',')
}

impl Picture {
    fn parse(sub: &str) -> Result<Picture, JError> {
        let chars: Vec<char> = sub.chars().collect();
        let first = chars.iter().position(|c| is_active(*c));
        let last = chars.iter().rposition(|c| is_active(*c));
        let (Some(first), Some(last)) = (first, last) else {
            return Err(JError::new("D3085", "The mantissa part of a sub-picture must contain at least one character that is either an 'optional digit character' or a member of the 'decimal digit family'", 0));
        };
        let prefix: String = chars[..first].iter().collect();
        let suffix: String = chars[last + 1..].iter().collect();
        let mantissa: String = chars[first..=last].iter().collect();
        if mantissa.contains('e') {
            let msg = "flowc does not support exponents in $formatNumber pictures";
            return Err(JError::new("U1003", msg, 0));
        }
        if mantissa.chars().any(|c| !is_active(c)) {
            return Err(JError::new("D3086", "The sub-picture must not contain a passive character that is preceded by an active character and that is followed by another active character", 0));
        }
        let (int, frac) = mantissa.split_once('.').unwrap_or((&mantissa, ""));
        let scale = if prefix.contains('%') || suffix.contains('%') {
            100.0
        } else if prefix.contains('‰') || suffix.contains('‰') {
            1000.0
        } else {
            1.0
        };
        let digits = |s: &str| s.chars().filter(char::is_ascii_digit).count();
        let min_frac = digits(frac);
        let max_frac = min_frac + frac.chars().filter(|c| *c == '#').count();
        let mut min_int = digits(int);
        if min_int == 0 && max_frac == 0 {
            min_int = 1;
        }
        let (groups, regular) = grouping(int);
        Ok(Picture {
            prefix,
            suffix,
            min_int,
            min_frac,
            max_frac,
            groups,
            regular,
            scale,
        })
    }

    fn digits(&self, x: f64) -> String {
        let rounded = super::functions::round_half_even(x, self.max_frac as i32);
        let text = format!("{rounded:.*}", self.max_frac);
        let (int, frac) = text.split_once('.').unwrap_or((&text, ""));
        let int = int.trim_start_matches('0');
        let int = format!("{int:0>width$}", width = self.min_int);
        let mut frac = frac.to_string();
        while frac.len() > self.min_frac && frac.ends_with('0') {
            frac.pop();
        }
        let int = self.group(&int);
        if frac.is_empty() {
            int
        } else {
            format!("{int}.{frac}")
        }
    }

    fn group(&self, int: &str) -> String {
        let digits: Vec<char> = int.chars().collect();
        let mut out = Vec::new();
        for (i, d) in digits.iter().rev().enumerate() {
            let at_group = i > 0
                && match self.regular {
                    Some(g) => i % g == 0,
                    None => self.groups.contains(&i),
                };
            if at_group {
                out.push(',');
            }
            out.push(*d);
        }
        out.iter().rev().collect()
    }
}

/// Grouping positions in the integer part (from the right) and the interval when regular.
fn grouping(int: &str) -> (Vec<usize>, Option<usize>) {
    let mut positions = Vec::new();
    let mut count = 0;
    for c in int.chars().rev() {
        if c == ',' {
            positions.push(count);
        } else {
            count += 1;
        }
    }
    let regular = positions
        .first()
        .copied()
        .filter(|g| *g > 0 && positions.iter().enumerate().all(|(i, p)| *p == g * (i + 1)));
    (positions, regular)
}

/// `$formatBase(n, radix)`: `n` rounded to an integer, written in base `radix` (2–36).
///
/// Errors: `D3100` for a radix outside 2–36.
pub(crate) fn format_base(n: f64, radix: f64) -> Result<String, JError> {
    let radix = radix as u32;
    if !(2..=36).contains(&radix) {
        return Err(JError::new("D3100", format!("The radix of the formatBase function must be between 2 and 36.  It was given {radix}"), 0));
    }
    let v = super::functions::round_half_even(n, 0);
    let neg = v < 0.0;
    let mut m = v.abs() as u128;
    let mut digits = Vec::new();
    loop {
        digits.push(std::char::from_digit((m % radix as u128) as u32, radix).unwrap_or('0'));
        m /= radix as u128;
        if m == 0 {
            break;
        }
    }
    if neg {
        digits.push('-');
    }
    Ok(digits.iter().rev().collect())
}

/// Characters `encodeURIComponent` leaves alone.
fn unreserved(c: char) -> bool {
    c.is_ascii_alphanumeric() || "-_.!~*'()".contains(c)
}

/// `$encodeUrlComponent` (`reserved` false) and `$encodeUrl` (`reserved` true: also keeps
/// `;,/?:@&=+$#`), as JavaScript's `encodeURIComponent` / `encodeURI`.
///
/// Errors: `D3140` for a lone surrogate (cannot occur in Rust strings, kept for parity).
pub(crate) fn encode_url(s: &str, reserved: bool) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if unreserved(c) || (reserved && ";,/?:@&=+$#".contains(c)) {
            out.push(c);
        } else {
            let mut buf = [0u8; 4];
            for b in c.encode_utf8(&mut buf).bytes() {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

/// `$decodeUrlComponent` / `$decodeUrl`: percent-decoding as JavaScript's
/// `decodeURIComponent` (`decodeURI` keeps escapes of reserved characters).
///
/// Errors: `D3140` for malformed escapes or bytes that are not UTF-8.
pub(crate) fn decode_url(s: &str, keep_reserved: bool) -> Result<String, JError> {
    let bad = || {
        JError::new(
            "D3140",
            format!(
                "Malformed URL passed to ${}(): \"{s}\"",
                if keep_reserved {
                    "decodeUrl"
                } else {
                    "decodeUrlComponent"
                }
            ),
            0,
        )
    };
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'%' {
            out.push(bytes[i]);
            i += 1;
            continue;
        }
        let hex = s.get(i + 1..i + 3).ok_or_else(bad)?;
        let b = u8::from_str_radix(hex, 16).map_err(|_| bad())?;
        if keep_reserved && ";,/?:@&=+$#".contains(b as char) {
            out.extend_from_slice(&bytes[i..i + 3]);
        } else {
            out.push(b);
        }
        i += 3;
    }
    String::from_utf8(out).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(n: f64, p: &str) -> String {
        format_number(n, p).unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn decimal_pictures() {
        assert_eq!(f(12345.6, "#,###.00"), "12,345.60");
        assert_eq!(f(1234.5678, "00.000"), "1234.568");
        assert_eq!(f(0.14, "01%"), "14%");
        assert_eq!(f(-6.0, "000"), "-006");
        assert_eq!(f(-6.0, "000;(000)"), "(006)");
        assert_eq!(f(1234567.0, "#,##,###"), "12,34,567");
        assert_eq!(f(2.5, "0"), "2");
        assert_eq!(f(0.5, "#.00"), ".50");
        assert_eq!(f(34.0, "$#,##0.00"), "$34.00");
        assert_eq!(f(3.0, "Price: 0.0 each"), "Price: 3.0 each");
        assert!(f(3.0, "0.0e0").starts_with("U1003"));
        assert!(f(1.0, "x").starts_with("D3085"));
    }

    #[test]
    fn bases_and_urls() {
        assert_eq!(format_base(255.0, 16.0).ok(), Some("ff".into()));
        assert_eq!(format_base(-5.0, 2.0).ok(), Some("-101".into()));
        assert!(format_base(1.0, 40.0).is_err());
        assert_eq!(encode_url("a b/é?", false), "a%20b%2F%C3%A9%3F");
        assert_eq!(encode_url("a b/é?", true), "a%20b/%C3%A9?");
        assert_eq!(
            decode_url("a%20b%2F%C3%A9", false).ok(),
            Some("a b/é".into())
        );
        assert_eq!(decode_url("a%2F", true).ok(), Some("a%2F".into()));
        assert!(decode_url("%zz", false).is_err());
    }
}
