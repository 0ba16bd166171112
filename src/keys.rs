//! The program key and everything derived from it.
//!
//! A program key is 32 random bytes made once at `init`. It never touches disk:
//! it is stored only sealed in key slots (AES-256-GCM under a key stretched from a
//! passphrase with PBKDF2-HMAC-SHA256), and each fiscal year gets its own epoch key
//! (HKDF) so codes of one year cannot be linked to another's from the file alone.
//! Key bytes live in zeroizing types with no `Clone`, `Display` or `Serialize`.
//!
//! Limit: ring's `hmac::Key`, `hkdf::Prk` and `aead::LessSafeKey` cannot be wiped,
//! so they are built inside the one call that needs them and dropped at its end.

use std::fmt;
use std::num::NonZeroU32;

use ring::rand::{SecureRandom, SystemRandom};
use ring::{aead, hkdf, hmac, pbkdf2};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

use crate::error::{Error, Result};
use crate::fiscal::FiscalYear;

/// OWASP's 2023 figure for PBKDF2-HMAC-SHA256; stored per slot so it can be raised.
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// Words a guesser of a harm-reduction program's passphrase would try first; zxcvbn
/// counts a passphrase built on them as weaker.
const PROGRAM_WORDS: &[&str] = &[
    "kitlog",
    "naloxone",
    "narcan",
    "syringe",
    "needle",
    "outreach",
    "harm",
    "reduction",
    "program",
    "program1",
    "password",
    "passphrase",
];

const SALT_LEN: usize = 16;
const KEY_LEN: usize = 32;
/// Binds a sealed key to its purpose, so a sealed blob cannot be replayed elsewhere.
const SLOT_AAD: &[u8] = b"kitlog key slot v1";
const CHECK_MESSAGE: &[u8] = b"kitlog key check";
const EPOCH_SALT: &[u8] = b"kitlog epoch key v1";
const SHEET_DIGEST_CONTEXT: &[u8] = b"kitlog sheet digest v1";

/// A passphrase as typed. Wiped on drop; never printed.
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Takes ownership at once so no un-wiped copy lingers with the caller.
    #[must_use]
    pub fn new(text: String) -> Self {
        Passphrase(Zeroizing::new(text))
    }

    /// Refuses passphrases an offline guesser would find quickly: zxcvbn's estimate
    /// must be score 3 or more (at least 10^10 guesses). A seized file can be attacked
    /// at leisure, and `sunshine1` fell to a few dozen guesses in the forensic review.
    pub fn check_strength(&self) -> Result<()> {
        // Spaces at the ends add nothing a guesser would not try first.
        let estimate = zxcvbn::zxcvbn(self.0.trim(), PROGRAM_WORDS);
        if (estimate.score() as u8) < 3 {
            return Err(Error::PassphraseWeak);
        }
        Ok(())
    }

    /// Compares two typings in constant time (HMAC verify), as age and atuin do.
    #[must_use]
    pub fn matches(&self, other: &Passphrase) -> bool {
        let key = hmac::Key::new(hmac::HMAC_SHA256, b"kitlog passphrase comparison");
        let tag = hmac::sign(&key, self.0.as_bytes());
        hmac::verify(&key, other.0.as_bytes(), tag.as_ref()).is_ok()
    }

    fn as_bytes(&self) -> &[u8] {
        self.0.as_bytes()
    }
}

impl fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// The program's root secret.
///
/// Never implement `Clone`, `Serialize` or `Display` for this type: every copy is
/// one more place a seized machine could give it up.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct ProgramKey([u8; KEY_LEN]);

impl fmt::Debug for ProgramKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ProgramKey(<redacted>)")
    }
}

/// The program key sealed under one passphrase, as stored in `key_slot`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySlot {
    /// Random per slot, so equal passphrases give unrelated wrapping keys.
    pub salt: Vec<u8>,
    /// PBKDF2 rounds used for this slot.
    pub iterations: u32,
    /// AES-GCM nonce; random, and each slot seals exactly once.
    pub nonce: Vec<u8>,
    /// Ciphertext of the program key plus the GCM tag.
    pub sealed_key: Vec<u8>,
}

impl ProgramKey {
    /// Makes a fresh random key from the operating system's generator.
    pub fn generate(random: &SystemRandom) -> Result<Self> {
        let mut key = ProgramKey([0; KEY_LEN]);
        random.fill(&mut key.0).map_err(|_| Error::Randomness)?;
        Ok(key)
    }

    /// A value stored beside the slots; lets `unlock` confirm the key it unwrapped.
    #[must_use]
    pub fn key_check(&self) -> [u8; 32] {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut out = [0; 32];
        out.copy_from_slice(hmac::sign(&key, CHECK_MESSAGE).as_ref());
        out
    }

    fn passes_check(&self, check: &[u8]) -> bool {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        hmac::verify(&key, CHECK_MESSAGE, check).is_ok()
    }

    /// Seals this key under `passphrase` into a new slot.
    pub fn seal(&self, passphrase: &Passphrase, random: &SystemRandom) -> Result<KeySlot> {
        let mut salt = vec![0; SALT_LEN];
        let mut nonce = [0; aead::NONCE_LEN];
        random.fill(&mut salt).map_err(|_| Error::Randomness)?;
        random.fill(&mut nonce).map_err(|_| Error::Randomness)?;
        let wrapping = wrapping_key(passphrase, &salt, PBKDF2_ITERATIONS);
        // Room for the tag up front: a reallocation while appending it would leave a
        // freed, un-wiped copy of the plain key on the heap.
        let mut sealed = Vec::with_capacity(KEY_LEN + aead::AES_256_GCM.tag_len());
        sealed.extend_from_slice(&self.0);
        wrapping
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(SLOT_AAD),
                &mut sealed,
            )
            .map_err(|_| Error::Randomness)?;
        Ok(KeySlot {
            salt,
            iterations: PBKDF2_ITERATIONS,
            nonce: nonce.to_vec(),
            sealed_key: sealed,
        })
    }

    /// Opens the first slot `passphrase` unseals and confirms it against `check`.
    ///
    /// Fails with the same vague error whatever went wrong, before anything is written.
    pub fn unlock(passphrase: &Passphrase, slots: &[KeySlot], check: &[u8]) -> Result<Self> {
        Self::unlock_slot(passphrase, slots, check).map(|(_, key)| key)
    }

    /// As [`ProgramKey::unlock`], also saying which slot opened (its index in `slots`):
    /// `kitlog passphrase change` replaces that one.
    pub fn unlock_slot(
        passphrase: &Passphrase,
        slots: &[KeySlot],
        check: &[u8],
    ) -> Result<(usize, Self)> {
        for (index, slot) in slots.iter().enumerate() {
            if let Some(key) = open_slot(passphrase, slot) {
                if key.passes_check(check) {
                    return Ok((index, key));
                }
            }
        }
        Err(Error::WrongPassphrase)
    }

    /// The key for participant codes of one fiscal year.
    #[must_use]
    pub fn epoch_key(&self, year: FiscalYear) -> EpochKey {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, EPOCH_SALT).extract(&self.0);
        let year_bytes = year.start_year().to_be_bytes();
        let info: [&[u8]; 2] = [b"fiscal year ", &year_bytes];
        let mut out = EpochKey([0; KEY_LEN]);
        prk.expand(&info, hkdf::HKDF_SHA256)
            .and_then(|okm| okm.fill(&mut out.0))
            .expect("HKDF-SHA256 can always fill 32 bytes");
        out
    }

    /// Keyed digest of a sheet's parsed content. Keyed, because the content holds codes
    /// and an unkeyed hash of it would let anyone confirm a guessed sheet.
    #[must_use]
    pub fn sheet_digest(&self, canonical_content: &[u8]) -> [u8; 32] {
        let mut digest = self.sheet_digester();
        digest.update(canonical_content);
        digest.finish()
    }

    /// The same digest as [`ProgramKey::sheet_digest`], fed a contact at a time, so a
    /// sheet of any size is digested as it is read instead of held whole.
    #[must_use]
    pub fn sheet_digester(&self) -> SheetDigester {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut context = hmac::Context::with_key(&key);
        context.update(SHEET_DIGEST_CONTEXT);
        SheetDigester(context)
    }
}

/// A keyed sheet digest in progress. Holds ring's HMAC state, which cannot be wiped
/// (the limit noted at the top of this module); it lives for one import.
pub struct SheetDigester(hmac::Context);

impl SheetDigester {
    /// Adds the next bytes of the sheet's canonical content.
    pub fn update(&mut self, canonical_content: &[u8]) {
        self.0.update(canonical_content);
    }

    /// The digest of everything added.
    #[must_use]
    pub fn finish(self) -> [u8; 32] {
        let mut out = [0; 32];
        out.copy_from_slice(self.0.sign().as_ref());
        out
    }
}

impl fmt::Debug for SheetDigester {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SheetDigester(<redacted>)")
    }
}

/// Tries one slot; `None` for a wrong passphrase or a damaged slot alike.
fn open_slot(passphrase: &Passphrase, slot: &KeySlot) -> Option<ProgramKey> {
    let nonce: [u8; aead::NONCE_LEN] = slot.nonce.as_slice().try_into().ok()?;
    if slot.iterations == 0 {
        return None;
    }
    let wrapping = wrapping_key(passphrase, &slot.salt, slot.iterations);
    let mut buffer = Zeroizing::new(slot.sealed_key.clone());
    let plain = wrapping
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(SLOT_AAD),
            &mut buffer,
        )
        .ok()?;
    let mut key = ProgramKey([0; KEY_LEN]);
    if plain.len() != KEY_LEN {
        return None;
    }
    key.0.copy_from_slice(plain);
    Some(key)
}

/// Stretches the passphrase into an AES-256-GCM key; the raw bytes are wiped on return.
fn wrapping_key(passphrase: &Passphrase, salt: &[u8], iterations: u32) -> aead::LessSafeKey {
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    pbkdf2::derive(
        pbkdf2::PBKDF2_HMAC_SHA256,
        NonZeroU32::new(iterations).unwrap_or(NonZeroU32::MIN),
        salt,
        passphrase.as_bytes(),
        bytes.as_mut(),
    );
    let unbound = aead::UnboundKey::new(&aead::AES_256_GCM, bytes.as_ref())
        .expect("AES-256-GCM takes a 32-byte key");
    aead::LessSafeKey::new(unbound)
}

/// Key for one fiscal year's participant codes.
///
/// Same rules as [`ProgramKey`]: no `Clone`, `Serialize` or `Display`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct EpochKey([u8; KEY_LEN]);

impl EpochKey {
    /// HMAC-SHA256 of `message` under this key; the `hmac::Key` lives for this call only.
    pub(crate) fn sign(&self, message: &[u8]) -> hmac::Tag {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        hmac::sign(&key, message)
    }
}

impl fmt::Debug for EpochKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("EpochKey(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ProgramKey {
        ProgramKey::generate(&SystemRandom::new()).unwrap()
    }

    #[test]
    fn a_slot_opens_with_its_passphrase_only() {
        let random = SystemRandom::new();
        let key = key();
        let check = key.key_check();
        let slot = key
            .seal(&Passphrase::new("correct horse".into()), &random)
            .unwrap();
        let opened = ProgramKey::unlock(
            &Passphrase::new("correct horse".into()),
            std::slice::from_ref(&slot),
            &check,
        )
        .unwrap();
        assert_eq!(opened.0, key.0);
        let wrong = ProgramKey::unlock(&Passphrase::new("correct horsE".into()), &[slot], &check);
        assert!(matches!(wrong, Err(Error::WrongPassphrase)));
    }

    #[test]
    fn a_slot_of_another_program_fails_the_key_check() {
        let random = SystemRandom::new();
        let ours = key();
        let theirs = key();
        let phrase = Passphrase::new("same passphrase".into());
        let their_slot = theirs.seal(&phrase, &random).unwrap();
        let result = ProgramKey::unlock(&phrase, &[their_slot], &ours.key_check());
        assert!(matches!(result, Err(Error::WrongPassphrase)));
    }

    #[test]
    fn a_tampered_slot_does_not_open() {
        let random = SystemRandom::new();
        let key = key();
        let phrase = Passphrase::new("correct horse".into());
        let mut slot = key.seal(&phrase, &random).unwrap();
        slot.sealed_key[3] ^= 1;
        assert!(ProgramKey::unlock(&phrase, &[slot], &key.key_check()).is_err());
    }

    #[test]
    fn epoch_keys_differ_by_year_and_by_program() {
        let a = key();
        let b = key();
        let y1 = FiscalYear::starting_in(2025);
        let y2 = FiscalYear::starting_in(2026);
        assert_ne!(a.epoch_key(y1).0, a.epoch_key(y2).0);
        assert_ne!(a.epoch_key(y1).0, b.epoch_key(y1).0);
        assert_eq!(a.epoch_key(y1).0, a.epoch_key(y1).0);
    }

    #[test]
    fn a_digest_fed_in_pieces_equals_the_digest_of_the_whole() {
        let key = key();
        let whole = key.sheet_digest(b"2026-11-20 one contact, then another");
        let mut pieces = key.sheet_digester();
        pieces.update(b"2026-11-20 one contact");
        pieces.update(b", then another");
        assert_eq!(pieces.finish(), whole);
        assert_ne!(key.sheet_digest(b""), whole);
    }

    #[test]
    fn debug_output_never_shows_key_bytes() {
        let key = key();
        assert_eq!(format!("{key:?}"), "ProgramKey(<redacted>)");
        let phrase = Passphrase::new("hunter2hunter2".into());
        assert!(!format!("{phrase:?}").contains("hunter2"));
    }

    #[test]
    fn passphrases_compare_exactly() {
        let a = Passphrase::new("abcdefgh".into());
        assert!(a.matches(&Passphrase::new("abcdefgh".into())));
        assert!(!a.matches(&Passphrase::new("abcdefgH".into())));
        assert!(!a.matches(&Passphrase::new("abcdefg".into())));
    }

    #[test]
    fn guessable_passphrases_are_refused_and_random_words_pass() {
        for weak in [
            "short",
            "password",
            "12345678",
            "aaaaaaaa",
            "kitlog12",
            "sunshine1",
            "naloxone2026",
            "        password        ",
        ] {
            assert!(
                Passphrase::new(weak.into()).check_strength().is_err(),
                "{weak} was accepted"
            );
        }
        for strong in ["velvet orbit maple canyon", "correct horse battery staple"] {
            assert!(
                Passphrase::new(strong.into()).check_strength().is_ok(),
                "{strong} was refused"
            );
        }
    }
}
