//! Issued codes: random participant codes printed on cards, which no passphrase can
//! turn back into a person.
//!
//! A code made from personal details (sex, letters of a name, a birth year) has
//! about 10^8 possible inputs; anyone holding a passphrase, coerced or not, computes
//! all of them and links every stored code back to its input in well under a minute
//! (13 to 37 s on two cores in the forensic review). A random code has nothing to
//! enumerate. Each is 8 characters of Crockford's base 32 (no I, L, O or U, so it is
//! read and typed without confusion: 40 bits, a trillion values) and a check
//! character (Luhn mod 32), so a mistyped character or two swapped neighbours (all
//! but one pair) are caught at the keyboard instead of making a new participant.
//!
//! kitlog keeps no list of the codes it printed: it stores only their salted codes
//! once they are used.

use ring::rand::{SecureRandom, SystemRandom};

use crate::error::{Error, Result};

/// Crockford's base 32, lowercase (codes are compared after case folding).
const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Random characters per code: 40 bits.
const BODY: usize = 8;

/// `count` fresh codes, formatted for a card: `K7QM-3XTR-9`.
pub fn new_codes(count: usize, random: &SystemRandom) -> Result<Vec<String>> {
    let mut codes = Vec::with_capacity(count);
    for _ in 0..count {
        let mut bytes = [0u8; 5];
        random.fill(&mut bytes).map_err(|_| Error::Randomness)?;
        let bits = bytes.iter().fold(0u64, |acc, b| acc << 8 | u64::from(*b));
        let body: Vec<u8> = (0..BODY)
            .rev()
            .map(|i| ALPHABET[usize::try_from((bits >> (5 * i)) & 31).expect("5 bits")])
            .collect();
        let check = check_character(&body);
        let text = String::from_utf8(body).expect("ASCII").to_ascii_uppercase();
        codes.push(format!(
            "{}-{}-{}",
            &text[..4],
            &text[4..],
            char::from(check).to_ascii_uppercase()
        ));
    }
    Ok(codes)
}

/// The canonical form of a typed issued code (already case-folded, with spaces and
/// punctuation removed), or `None` if it is not one: the wrong length, a character
/// outside the alphabet, or a check character that does not match. `o` is read as
/// `0`, and `i` and `l` as `1`, as Crockford's alphabet intends.
#[must_use]
pub fn canonical(folded: &str) -> Option<String> {
    let mapped: Vec<u8> = folded
        .bytes()
        .map(|b| match b {
            b'o' => b'0',
            b'i' | b'l' => b'1',
            other => other,
        })
        .collect();
    if mapped.len() != BODY + 1 || !mapped.iter().all(|b| ALPHABET.contains(b)) {
        return None;
    }
    (check_character(&mapped[..BODY]) == mapped[BODY])
        .then(|| String::from_utf8(mapped).expect("ASCII"))
}

/// Luhn mod 32 over the alphabet's values: catches every single wrong character and
/// every swap of two neighbours but one (`0` and `z`, as Luhn's own 09 and 90).
fn check_character(body: &[u8]) -> u8 {
    let value = |c: &u8| {
        u32::try_from(
            ALPHABET
                .iter()
                .position(|a| a == c)
                .expect("in the alphabet"),
        )
        .expect("under 32")
    };
    let mut factor = 2;
    let mut sum = 0;
    for c in body.iter().rev() {
        let addend = factor * value(c);
        factor = if factor == 2 { 1 } else { 2 };
        sum += addend / 32 + addend % 32;
    }
    let check = (32 - sum % 32) % 32;
    ALPHABET[usize::try_from(check).expect("under 32")]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fold(code: &str) -> String {
        code.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase())
            .collect()
    }

    #[test]
    fn new_codes_are_distinct_and_valid() {
        let codes = new_codes(500, &SystemRandom::new()).unwrap();
        let mut unique = codes.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), 500);
        for code in &codes {
            assert_eq!(code.len(), 11, "{code}");
            assert!(canonical(&fold(code)).is_some(), "{code}");
        }
    }

    #[test]
    fn one_wrong_character_or_a_swap_is_caught() {
        let code = fold(&new_codes(1, &SystemRandom::new()).unwrap()[0]);
        let bytes = code.as_bytes();
        for at in 0..bytes.len() {
            for replacement in ALPHABET {
                if *replacement == bytes[at] {
                    continue;
                }
                let mut typo = bytes.to_vec();
                typo[at] = *replacement;
                assert!(canonical(std::str::from_utf8(&typo).unwrap()).is_none());
            }
        }
        for at in 0..bytes.len() - 1 {
            let pair = [bytes[at], bytes[at + 1]];
            if pair[0] == pair[1] || pair == *b"0z" || pair == *b"z0" {
                continue;
            }
            let mut swapped = bytes.to_vec();
            swapped.swap(at, at + 1);
            assert!(
                canonical(std::str::from_utf8(&swapped).unwrap()).is_none(),
                "{code} swapped at {at}"
            );
        }
    }

    #[test]
    fn look_alike_letters_read_as_digits() {
        // Body 0000 0001, then its check character.
        let body = b"00000001";
        let check = char::from(check_character(body));
        let typed = format!("oooo-ooOl-{check}");
        assert_eq!(canonical(&fold(&typed)), Some(format!("00000001{check}")));
    }
}
