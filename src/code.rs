//! Turns a raw participant identifier into a participant code.
//!
//! The raw text arrives as a [`RawIdentifier`], which cannot be printed, and leaves
//! this module only as a [`ParticipantCode`]: HMAC-SHA256 under the fiscal year's
//! epoch key of the normalised input, truncated to 128 bits. Refusals name the rule
//! that was broken, never the input. Normalisation is NFKC, then case folding, then
//! dropping everything but letters and digits, so `ab-12 x` and `AB12X` are one code.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use zeroize::Zeroizing;

use crate::fiscal::{FiscalCalendar, FiscalYear};
use crate::keys::{EpochKey, ProgramKey};

/// Longer input is not a code someone remembers; it is likely pasted personal data.
pub const MAX_INPUT_CHARS: usize = 64;

/// Bytes of the HMAC tag kept: 128 bits, the spec's minimum, ample for collisions
/// among a program's participants and short enough to index cheaply.
pub const CODE_BYTES: usize = 16;

/// The text typed or read to make a code. Wiped on drop.
///
/// Deliberately has no `Display`, `Clone` or `Serialize`, and a redacted `Debug`, so
/// the compiler refuses to put it in a message, a log line or a file.
pub struct RawIdentifier(Zeroizing<String>);

impl RawIdentifier {
    /// Takes ownership at once so the caller keeps no un-wiped copy.
    #[must_use]
    pub fn new(text: String) -> Self {
        RawIdentifier(Zeroizing::new(text))
    }

    /// The raw text, for normalising only. The name is the warning.
    fn expose_for_hashing(&self) -> &str {
        &self.0
    }

    /// Whether nothing was typed (an anonymous contact).
    #[must_use]
    pub fn is_blank(&self) -> bool {
        self.0.trim().is_empty()
    }
}

impl fmt::Debug for RawIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RawIdentifier(<redacted>)")
    }
}

/// Why a code input was refused. Messages name the rule, never the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CodeRefusal {
    /// More than [`MAX_INPUT_CHARS`] characters.
    TooLong,
    /// Looks like an email address: a direct identifier.
    LooksLikeEmail,
    /// Looks like a phone number: a direct identifier.
    LooksLikePhone,
    /// Nothing left after removing spaces and punctuation.
    NoLettersOrDigits,
    /// Does not fit the program's code format.
    WrongFormat(CodeFormat),
    /// The program uses issued codes and this is not one (a typo, most likely).
    NotAnIssuedCode,
}

impl fmt::Display for CodeRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CodeRefusal::TooLong => write!(
                f,
                "the code is longer than {MAX_INPUT_CHARS} characters; use the program's short code, not personal details"
            ),
            CodeRefusal::LooksLikeEmail => f.write_str(
                "the code looks like an email address; never record one, use the program's code",
            ),
            CodeRefusal::LooksLikePhone => f.write_str(
                "the code looks like a phone number; never record one, use the program's code",
            ),
            CodeRefusal::NoLettersOrDigits => f.write_str(
                "the code has no letters or digits; leave it empty for an anonymous contact",
            ),
            CodeRefusal::WrongFormat(format) => write!(
                f,
                "the code does not fit the program's code format {format} (A = letter, 9 = digit, * = either)"
            ),
            CodeRefusal::NotAnIssuedCode => f.write_str(
                "the code is not one of the program's issued codes (8 characters and a check character, like K7QM-3XTR-9): a typo, most likely; check the card and type it again",
            ),
        }
    }
}

/// A program's optional code format: one mask character per normalised character.
/// `A` is a letter, `9` a digit, `*` either. Spaces and punctuation in the input are
/// ignored, as in normalisation, so `M-ABCD-1980` fits `AAAAA9999`.
///
/// Or the word `issued`: codes printed by `kitlog codes new` ([`crate::issued`]),
/// checked by their check character.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodeFormat(String);

/// The stored form of the issued-codes format.
const ISSUED: &str = "issued";

impl CodeFormat {
    /// `None` unless the mask is 1 to 64 of `A`, `9` and `*`, or the word `issued`.
    #[must_use]
    pub fn parse(mask: &str) -> Option<Self> {
        if mask.trim().eq_ignore_ascii_case(ISSUED) {
            return Some(CodeFormat(ISSUED.to_owned()));
        }
        let mask = mask.trim().to_ascii_uppercase();
        let valid = !mask.is_empty()
            && mask.chars().count() <= MAX_INPUT_CHARS
            && mask.chars().all(|c| matches!(c, 'A' | '9' | '*'));
        valid.then_some(CodeFormat(mask))
    }

    /// The mask as stored.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether codes are the program's issued codes rather than a mask.
    #[must_use]
    pub fn is_issued(&self) -> bool {
        self.0 == ISSUED
    }

    fn accepts(&self, normalised: &str) -> bool {
        normalised.chars().count() == self.0.chars().count()
            && self
                .0
                .chars()
                .zip(normalised.chars())
                .all(|(m, c)| match m {
                    'A' => c.is_alphabetic(),
                    '9' => c.is_ascii_digit(),
                    _ => true,
                })
    }
}

impl fmt::Display for CodeFormat {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The stored, salted code of one participant within one fiscal year.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ParticipantCode([u8; CODE_BYTES]);

impl ParticipantCode {
    /// Makes the code of `raw` under `key`, or says which rule the input breaks.
    pub fn derive(
        raw: &RawIdentifier,
        format: Option<&CodeFormat>,
        key: &EpochKey,
    ) -> Result<Self, CodeRefusal> {
        let normalised = normalise(raw, format)?;
        let tag = key.sign(normalised.as_bytes());
        let mut code = [0; CODE_BYTES];
        code.copy_from_slice(&tag.as_ref()[..CODE_BYTES]);
        Ok(ParticipantCode(code))
    }

    /// The bytes as stored in the `contact.code` column.
    #[must_use]
    pub fn as_bytes(&self) -> &[u8; CODE_BYTES] {
        &self.0
    }

    /// Rebuilds a code read back from the database.
    #[must_use]
    pub fn from_bytes(bytes: [u8; CODE_BYTES]) -> Self {
        ParticipantCode(bytes)
    }
}

impl fmt::Debug for ParticipantCode {
    /// Codes are pseudonymous, not secret, but there is no reason to print them either.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ParticipantCode(..)")
    }
}

/// Makes the codes of one import or shift: one epoch key per fiscal year met,
/// derived on first use and wiped when the maker is dropped.
pub struct CodeMaker<'k> {
    key: &'k ProgramKey,
    calendar: FiscalCalendar,
    format: Option<CodeFormat>,
    epochs: Vec<(FiscalYear, EpochKey)>,
}

impl<'k> CodeMaker<'k> {
    /// A maker for the program unlocked as `key`.
    #[must_use]
    pub fn new(key: &'k ProgramKey, calendar: FiscalCalendar, format: Option<CodeFormat>) -> Self {
        CodeMaker {
            key,
            calendar,
            format,
            epochs: Vec::new(),
        }
    }

    /// Uses `carried` (keys a rotation carried over from an earlier program key) for
    /// their years instead of deriving them from the program key.
    #[must_use]
    pub fn with_carried(mut self, carried: Vec<(FiscalYear, EpochKey)>) -> Self {
        self.epochs.extend(carried);
        self
    }

    /// The code of `raw` for a contact on `day`, with the fiscal year whose key made it.
    pub fn code_for(
        &mut self,
        raw: &RawIdentifier,
        day: chrono::NaiveDate,
    ) -> Result<ParticipantCode, CodeRefusal> {
        let year = self.calendar.year_of(day);
        // By starting year: the key of a year is made from its starting year alone,
        // and keys carried across a rotation are stored by it.
        let index = if let Some(index) = self
            .epochs
            .iter()
            .position(|(y, _)| y.start_year() == year.start_year())
        {
            index
        } else {
            self.epochs.push((year, self.key.epoch_key(year)));
            self.epochs.len() - 1
        };
        ParticipantCode::derive(raw, self.format.as_ref(), &self.epochs[index].1)
    }

    /// The calendar that picks each contact's fiscal year (and so its epoch key).
    #[must_use]
    pub fn calendar(&self) -> FiscalCalendar {
        self.calendar
    }

    /// Applies the input rules without making a code, for rows whose day is unknown.
    pub fn check(&self, raw: &RawIdentifier) -> Result<(), CodeRefusal> {
        normalise(raw, self.format.as_ref()).map(drop)
    }
}

/// Checks the raw input against the always-on rules and the program's format, and
/// returns the normalised form that is hashed. Checks for direct identifiers look at
/// the raw text, since normalising removes the `@` and `+` that give them away.
fn normalise(
    raw: &RawIdentifier,
    format: Option<&CodeFormat>,
) -> Result<Zeroizing<String>, CodeRefusal> {
    let text = raw.expose_for_hashing().trim();
    if text.chars().count() > MAX_INPUT_CHARS {
        return Err(CodeRefusal::TooLong);
    }
    if looks_like_email(text) {
        return Err(CodeRefusal::LooksLikeEmail);
    }
    if looks_like_phone(text) {
        return Err(CodeRefusal::LooksLikePhone);
    }
    let kept = if text.is_ascii() {
        fold_ascii(text)
    } else {
        fold_unicode(text)
    };
    if kept.is_empty() {
        return Err(CodeRefusal::NoLettersOrDigits);
    }
    if let Some(format) = format {
        if format.is_issued() {
            // The canonical form (look-alike letters read as digits) is what is hashed,
            // so a card typed with an O or an o gives the same code as with a 0.
            return crate::issued::canonical(&kept)
                .map(Zeroizing::new)
                .ok_or(CodeRefusal::NotAnIssuedCode);
        }
        if !format.accepts(&kept) {
            return Err(CodeRefusal::WrongFormat(format.clone()));
        }
    }
    Ok(kept)
}

/// NFKC, case folding, letters and digits only.
fn fold_unicode(text: &str) -> Zeroizing<String> {
    // Every intermediate copy of the input is a Zeroizing string, wiped when dropped.
    let composed: Zeroizing<String> = Zeroizing::new(text.nfkc().collect());
    // Upper then lower approximates Unicode case folding (ß → SS → ss) with std alone.
    let upper = Zeroizing::new(composed.to_uppercase());
    let folded = Zeroizing::new(upper.to_lowercase());
    let alphanumeric: Zeroizing<String> =
        Zeroizing::new(folded.chars().filter(|c| c.is_alphanumeric()).collect());
    Zeroizing::new(alphanumeric.nfkc().collect())
}

/// [`fold_unicode`] for ASCII text, where NFKC changes nothing and folding is lowering:
/// the same result in one pass and one allocation. Most codes are ASCII, and a large
/// import makes hundreds of thousands of them.
fn fold_ascii(text: &str) -> Zeroizing<String> {
    let mut kept = Zeroizing::new(String::with_capacity(text.len()));
    kept.extend(
        text.chars()
            .filter(char::is_ascii_alphanumeric)
            .map(|c| c.to_ascii_lowercase()),
    );
    kept
}

/// Something `@` something-with-a-dot: the shape of every email address.
fn looks_like_email(text: &str) -> bool {
    text.split_once('@').is_some_and(|(local, domain)| {
        !local.trim().is_empty() && domain.contains('.') && !domain.ends_with('.')
    })
}

/// Seven or more digits written the way phone numbers are: only digits and phone
/// punctuation, with a leading `+` or a separator between digit groups. A card
/// number typed as plain digits is left alone: programs use those as codes.
fn looks_like_phone(text: &str) -> bool {
    let digits = text.chars().filter(char::is_ascii_digit).count();
    let phone_chars = text
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | ' ' | '(' | ')' | '/'));
    let punctuated = text.starts_with('+')
        || text
            .trim_start_matches('+')
            .chars()
            .any(|c| !c.is_ascii_digit());
    (7..=15).contains(&digits) && phone_chars && punctuated
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use ring::rand::SystemRandom;

    use super::*;
    use crate::fiscal::FiscalYear;
    use crate::keys::ProgramKey;

    fn norm(text: &str) -> Result<String, CodeRefusal> {
        normalise(&RawIdentifier::new(text.to_owned()), None).map(|s| s.to_string())
    }

    #[test]
    fn spellings_of_one_input_normalise_alike() {
        assert_eq!(norm("ab-12 x").unwrap(), "ab12x");
        assert_eq!(norm("AB12X").unwrap(), "ab12x");
        assert_eq!(norm("  Ab.12_x ").unwrap(), "ab12x");
        // Full-width letters (NFKC) and sharp s (case folding).
        assert_eq!(norm("ＡＢ１２Ｘ").unwrap(), "ab12x");
        assert_eq!(norm("STRASSE").unwrap(), norm("straße").unwrap());
    }

    #[test]
    fn direct_identifiers_are_refused() {
        assert_eq!(norm("jo.doe@example.org"), Err(CodeRefusal::LooksLikeEmail));
        assert_eq!(norm("+1 604 555 0199"), Err(CodeRefusal::LooksLikePhone));
        assert_eq!(norm("604-555-0199"), Err(CodeRefusal::LooksLikePhone));
        assert_eq!(norm("(604) 555.0199"), Err(CodeRefusal::LooksLikePhone));
        assert_eq!(norm(&"a".repeat(65)), Err(CodeRefusal::TooLong));
        assert_eq!(norm("--- ..."), Err(CodeRefusal::NoLettersOrDigits));
        // Plain digits (a card number) and ordinary aliases pass.
        assert!(norm("6045550199").is_ok());
        assert!(norm("BLUEFOX77").is_ok());
        assert!(norm(&"a".repeat(64)).is_ok());
    }

    #[test]
    fn code_formats_check_the_normalised_input() {
        let format = CodeFormat::parse("aaaaa9999").unwrap();
        let check = |text: &str| normalise(&RawIdentifier::new(text.into()), Some(&format));
        assert!(check("M-ABCD-1980").is_ok());
        assert!(check("mabcd1980").is_ok());
        assert_eq!(
            check("MABC1980").unwrap_err(),
            CodeRefusal::WrongFormat(format.clone())
        );
        assert!(check("MABCD198O").is_err());
        assert!(CodeFormat::parse("AB-9").is_none());
        assert!(CodeFormat::parse("").is_none());
    }

    #[test]
    fn refusals_never_contain_the_input() {
        let sentinel = "zq7sentinel@example.org";
        let refusal = norm(sentinel).unwrap_err();
        assert!(!refusal.to_string().contains("zq7"));
        assert!(!format!("{:?}", RawIdentifier::new(sentinel.into())).contains("zq7"));
    }

    #[test]
    fn codes_depend_on_program_and_year() {
        let random = SystemRandom::new();
        let a = ProgramKey::generate(&random).unwrap();
        let b = ProgramKey::generate(&random).unwrap();
        let raw = RawIdentifier::new("BLUEFOX77".into());
        let y = FiscalYear::starting_in(2026);
        let code =
            |k: &ProgramKey, y| ParticipantCode::derive(&raw, None, &k.epoch_key(y)).unwrap();
        assert_eq!(code(&a, y), code(&a, y));
        assert_ne!(code(&a, y), code(&b, y));
        assert_ne!(code(&a, y), code(&a, FiscalYear::starting_in(2027)));
    }

    proptest! {
        /// Normalisation is idempotent and ignores case, spaces and punctuation.
        #[test]
        fn normalising_is_stable(text in "[A-Za-z0-9 ._-]{1,40}") {
            if let Ok(once) = norm(&text) {
                prop_assert_eq!(norm(&once).unwrap(), once.clone());
                let shouted = text.to_uppercase().replace(['-', '.'], " ");
                prop_assert_eq!(norm(&shouted).unwrap(), once);
            }
        }

        /// The ASCII shortcut folds exactly as the full Unicode path does.
        #[test]
        fn ascii_folding_agrees_with_unicode_folding(text in "[ -~]{0,70}") {
            let (ascii, unicode) = (fold_ascii(&text), fold_unicode(&text));
            prop_assert_eq!(ascii.as_str(), unicode.as_str());
        }

        /// Whatever is typed, a refusal's message never repeats it.
        #[test]
        fn refusal_messages_never_echo(text in "\\PC{3,80}") {
            if let Err(refusal) = norm(&text) {
                let message = refusal.to_string();
                let trimmed = text.trim();
                prop_assume!(trimmed.chars().count() >= 6);
                prop_assert!(!message.contains(trimmed));
            }
        }
    }
}
