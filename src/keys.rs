//! The program key and everything derived from it.
//!
//! A program key is 32 random bytes made once at `init`. It never touches disk:
//! it is stored only sealed in key slots (AES-256-GCM under a key stretched from a
//! passphrase with Argon2id; slots made before Argon2id used PBKDF2-HMAC-SHA256 and
//! are resealed at their next use). From it come, each by HKDF with its own label,
//! the key the database file is encrypted with (SQLCipher) and one epoch key per
//! fiscal year, so codes of one year cannot be linked to another's.
//!
//! A slot's seal binds its label, its key-derivation function and cost, and its
//! salt (the AEAD's associated data): a slot relabelled or given a cheaper cost in
//! the key file does not open. Costs outside [`Kdf::is_sane`] are refused before any
//! work is done, both ways: too cheap helps a guesser, too dear hangs kitlog.
//! Key bytes live in zeroizing types with no `Clone`, `Display` or `Serialize`.
//!
//! Limit of the key pairs: a slot's public key is public, so anyone can wrap a key of
//! their own for it. Someone who replaces both the key file and the program file
//! could hand a worker a program of theirs, which that worker's passphrase opens; the
//! worker would see an empty or unfamiliar program (no sites, no batches). Nothing in
//! the real program is exposed by it. Keeping the laptop's disk encrypted and locked
//! is the defence.
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

/// OWASP's 2023 figure for PBKDF2-HMAC-SHA256, the floor of the slots made before
/// Argon2id; stored per slot.
pub const PBKDF2_ITERATIONS: u32 = 600_000;

/// Argon2id cost of a new slot: 64 MiB, 3 passes, one lane. Unlocks in about a
/// quarter of a second on the 2-core machines kitlog is measured on (README,
/// benchmarks), and makes each offline guess cost the same 64 MiB.
pub const ARGON2_MEMORY_KIB: u32 = 64 * 1024;
/// See [`ARGON2_MEMORY_KIB`].
pub const ARGON2_PASSES: u32 = 3;
/// See [`ARGON2_MEMORY_KIB`].
pub const ARGON2_LANES: u32 = 1;

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
/// Binds a sealed key to its purpose (slots made before Argon2id, with PBKDF2).
const LEGACY_SLOT_AAD: &[u8] = b"kitlog key slot v1";
/// The start of an Argon2id slot's associated data; its label, cost and salt follow.
const SLOT_AAD: &[u8] = b"kitlog key slot v2";
const DATABASE_KEY_INFO: &[u8] = b"kitlog database key v1";
/// HKDF salt and associated-data prefix of a program key wrapped for a slot.
const WRAP_CONTEXT: &[u8] = b"kitlog key wrap v1";
const CHECK_MESSAGE: &[u8] = b"kitlog key check";
const EPOCH_SALT: &[u8] = b"kitlog epoch key v1";
const SHEET_DIGEST_CONTEXT: &[u8] = b"kitlog sheet digest v1";
const CONTENT_DIGEST_CONTEXT: &[u8] = b"kitlog batch content v1";
const SUBKEY_SALT: &[u8] = b"kitlog subkey v1";

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

    /// The text, to show a one-time passphrase kitlog itself made (enrolment); never
    /// used for one a person typed.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
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

/// How a slot stretches its passphrase into the key that seals the program key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kdf {
    /// Memory-hard; every slot kitlog makes now.
    Argon2id {
        /// Memory in KiB.
        memory_kib: u32,
        /// Passes over the memory.
        passes: u32,
        /// Parallel lanes.
        lanes: u32,
    },
    /// Slots made before Argon2id; resealed with Argon2id when next opened.
    Pbkdf2 {
        /// HMAC-SHA256 rounds.
        iterations: u32,
    },
}

impl Kdf {
    /// The cost every new slot gets.
    pub const CURRENT: Kdf = Kdf::Argon2id {
        memory_kib: ARGON2_MEMORY_KIB,
        passes: ARGON2_PASSES,
        lanes: ARGON2_LANES,
    };

    /// Costs kitlog accepts when reading a slot. Below: a guesser's gift (a slot
    /// re-sealed at 1 iteration was used silently before); above: a hostile file
    /// that hangs every command (4,294,967,295 iterations did).
    #[must_use]
    pub fn is_sane(self) -> bool {
        match self {
            Kdf::Argon2id {
                memory_kib,
                passes,
                lanes,
            } => {
                (19 * 1024..=1024 * 1024).contains(&memory_kib)
                    && (1..=10).contains(&passes)
                    && (1..=4).contains(&lanes)
            }
            Kdf::Pbkdf2 { iterations } => (PBKDF2_ITERATIONS..=10_000_000).contains(&iterations),
        }
    }
}

/// The program key sealed under one passphrase, as kept in the key file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeySlot {
    /// Short slug naming whose passphrase this is (`worker-jd`); bound into the seal.
    pub label: String,
    /// The day this slot's passphrase was set (YYYY-MM-DD).
    pub created_on: String,
    /// How the passphrase is stretched; bound into the seal.
    pub kdf: Kdf,
    /// Random per slot, so equal passphrases give unrelated wrapping keys.
    pub salt: Vec<u8>,
    /// AES-GCM nonce; random, and each slot seals exactly once.
    pub nonce: Vec<u8>,
    /// Argon2id slots: the slot's X25519 secret key sealed under the passphrase
    /// (AES-256-GCM, 32 bytes and the tag). PBKDF2 slots: the program key itself.
    pub sealed_key: Vec<u8>,
    /// The slot's X25519 public key (32 bytes; empty for PBKDF2 slots). Anyone can
    /// wrap a key for the slot with it, which is what lets a rotation hand the new
    /// program key to every remaining passphrase without knowing any of them.
    pub public_key: Vec<u8>,
    /// The program key wrapped for the slot's public key: an ephemeral X25519 public
    /// key, an AES-GCM nonce, and the key with its tag (92 bytes; empty for PBKDF2).
    pub wrapped_key: Vec<u8>,
}

impl KeySlot {
    /// What the seal authenticates besides the sealed secret: for Argon2id slots the
    /// label, the cost, the salt and the public key, so none can be changed in the key
    /// file.
    fn associated_data(&self) -> Vec<u8> {
        match self.kdf {
            Kdf::Pbkdf2 { .. } => LEGACY_SLOT_AAD.to_vec(),
            Kdf::Argon2id {
                memory_kib,
                passes,
                lanes,
            } => {
                let mut aad = SLOT_AAD.to_vec();
                for part in [
                    self.label.as_bytes(),
                    &memory_kib.to_be_bytes(),
                    &passes.to_be_bytes(),
                    &lanes.to_be_bytes(),
                    &self.salt,
                    &self.public_key,
                ] {
                    push_part(&mut aad, part);
                }
                aad
            }
        }
    }
}

/// Appends `part` after its length (4 bytes, big-endian), so that no two lists of
/// parts give the same bytes.
fn push_part(out: &mut Vec<u8>, part: &[u8]) {
    let length = u32::try_from(part.len()).expect("parts are short");
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(part);
}

/// The key SQLCipher encrypts the program file with, as its `PRAGMA key` value
/// (`x'…'`, a raw key, so SQLCipher adds no key derivation of its own). Wiped on drop.
pub struct DatabaseKey(Zeroizing<String>);

impl DatabaseKey {
    /// The `PRAGMA key` value.
    #[must_use]
    pub fn pragma_value(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
impl DatabaseKey {
    /// A fixed key for the store's own tests.
    pub(crate) fn fixed() -> Self {
        DatabaseKey(Zeroizing::new(format!("x'{}'", "ab".repeat(KEY_LEN))))
    }
}

impl fmt::Debug for DatabaseKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DatabaseKey(<redacted>)")
    }
}

/// 16 fresh random bytes from the operating system: the id of a batch, a void or a
/// device, the same on every device of the program and unguessable.
pub fn random_id() -> Result<[u8; 16]> {
    let mut id = [0; 16];
    SystemRandom::new()
        .fill(&mut id)
        .map_err(|_| Error::Randomness)?;
    Ok(id)
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

    /// A new Argon2id slot named `label` for `passphrase`: a fresh X25519 key pair,
    /// its secret sealed under the stretched passphrase, and this key wrapped for its
    /// public key.
    pub fn seal(
        &self,
        label: &str,
        created_on: &str,
        passphrase: &Passphrase,
        random: &SystemRandom,
    ) -> Result<KeySlot> {
        let mut secret_bytes = Zeroizing::new([0u8; KEY_LEN]);
        random
            .fill(secret_bytes.as_mut())
            .map_err(|_| Error::Randomness)?;
        let secret = x25519_dalek::StaticSecret::from(*secret_bytes);
        let mut slot = KeySlot {
            label: label.to_owned(),
            created_on: created_on.to_owned(),
            kdf: Kdf::CURRENT,
            salt: vec![0; SALT_LEN],
            nonce: vec![0; aead::NONCE_LEN],
            sealed_key: Vec::new(),
            public_key: x25519_dalek::PublicKey::from(&secret).as_bytes().to_vec(),
            wrapped_key: Vec::new(),
        };
        random.fill(&mut slot.salt).map_err(|_| Error::Randomness)?;
        random
            .fill(&mut slot.nonce)
            .map_err(|_| Error::Randomness)?;
        let nonce: [u8; aead::NONCE_LEN] = slot.nonce.as_slice().try_into().expect("12 bytes");
        let wrapping = wrapping_key(passphrase, &slot.salt, slot.kdf).ok_or(Error::Randomness)?;
        // Room for the tag up front: a reallocation while appending it would leave a
        // freed, un-wiped copy of the secret on the heap.
        let mut sealed = Vec::with_capacity(KEY_LEN + aead::AES_256_GCM.tag_len());
        sealed.extend_from_slice(secret.as_bytes());
        wrapping
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(slot.associated_data()),
                &mut sealed,
            )
            .map_err(|_| Error::Randomness)?;
        slot.sealed_key = sealed;
        slot.wrapped_key = self.wrap_for(&slot, random)?;
        Ok(slot)
    }

    /// `slot` with this key wrapped for its public key instead of the one it had: how
    /// a rotation hands the new program key to every remaining passphrase. `None` for
    /// a PBKDF2 slot, which has no public key (its passphrase must be typed once to
    /// upgrade it).
    pub fn rewrap(&self, slot: &KeySlot, random: &SystemRandom) -> Result<Option<KeySlot>> {
        if matches!(slot.kdf, Kdf::Pbkdf2 { .. }) {
            return Ok(None);
        }
        let mut rewrapped = slot.clone();
        rewrapped.wrapped_key = self.wrap_for(slot, random)?;
        Ok(Some(rewrapped))
    }

    /// ECIES of this key to `slot`'s public key: an ephemeral X25519 key pair, the
    /// shared secret through HKDF-SHA256, AES-256-GCM with the label and both public
    /// keys bound in.
    fn wrap_for(&self, slot: &KeySlot, random: &SystemRandom) -> Result<Vec<u8>> {
        let theirs: [u8; KEY_LEN] = slot
            .public_key
            .as_slice()
            .try_into()
            .map_err(|_| Error::Randomness)?;
        let theirs = x25519_dalek::PublicKey::from(theirs);
        let mut ephemeral_bytes = Zeroizing::new([0u8; KEY_LEN]);
        random
            .fill(ephemeral_bytes.as_mut())
            .map_err(|_| Error::Randomness)?;
        let ephemeral = x25519_dalek::StaticSecret::from(*ephemeral_bytes);
        let ephemeral_public = x25519_dalek::PublicKey::from(&ephemeral);
        let shared = ephemeral.diffie_hellman(&theirs);
        if !shared.was_contributory() {
            return Err(Error::Randomness);
        }
        let mut nonce = [0u8; aead::NONCE_LEN];
        random.fill(&mut nonce).map_err(|_| Error::Randomness)?;
        let key = wrap_key(
            shared.as_bytes(),
            ephemeral_public.as_bytes(),
            theirs.as_bytes(),
        );
        let mut out = Vec::with_capacity(KEY_LEN + aead::NONCE_LEN + KEY_LEN + 16);
        out.extend_from_slice(ephemeral_public.as_bytes());
        out.extend_from_slice(&nonce);
        let mut sealed = Vec::with_capacity(KEY_LEN + aead::AES_256_GCM.tag_len());
        sealed.extend_from_slice(&self.0);
        key.seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(wrap_aad(slot, ephemeral_public.as_bytes())),
            &mut sealed,
        )
        .map_err(|_| Error::Randomness)?;
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens the first slot `passphrase` unseals; says which (its index in `slots`):
    /// `kitlog passphrase change` replaces that one.
    ///
    /// Fails with the same vague error whatever went wrong, before anything is written.
    /// The caller confirms the key against the program (the database must open with
    /// it, and its key check must pass).
    pub fn unlock(passphrase: &Passphrase, slots: &[KeySlot]) -> Result<(usize, Self)> {
        for (index, slot) in slots.iter().enumerate() {
            if let Some(key) = open_slot(passphrase, slot) {
                return Ok((index, key));
            }
        }
        Err(Error::WrongPassphrase)
    }

    /// Whether this is the key whose check value the program stores.
    #[must_use]
    pub fn passes_check(&self, check: &[u8]) -> bool {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        hmac::verify(&key, CHECK_MESSAGE, check).is_ok()
    }

    /// The key the program file is encrypted with.
    #[must_use]
    pub fn database_key(&self) -> DatabaseKey {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, DATABASE_KEY_INFO).extract(&self.0);
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        prk.expand(&[DATABASE_KEY_INFO], hkdf::HKDF_SHA256)
            .and_then(|okm| okm.fill(bytes.as_mut()))
            .expect("HKDF-SHA256 can always fill 32 bytes");
        let mut text = Zeroizing::new(String::with_capacity(3 + 2 * KEY_LEN));
        text.push_str("x'");
        for byte in bytes.iter() {
            for nibble in [byte >> 4, byte & 0xf] {
                text.push(char::from_digit(u32::from(nibble), 16).expect("a nibble"));
            }
        }
        text.push('\'');
        DatabaseKey(text)
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

    /// A key for one purpose (`purpose` names it and its version), derived with
    /// HKDF-SHA256: what seals bundles and enrolment files, so that the program key
    /// itself never encrypts anything that leaves the program file.
    #[must_use]
    pub fn subkey(&self, purpose: &'static [u8]) -> Zeroizing<[u8; KEY_LEN]> {
        let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, SUBKEY_SALT).extract(&self.0);
        let mut out = Zeroizing::new([0u8; KEY_LEN]);
        prk.expand(&[purpose], hkdf::HKDF_SHA256)
            .and_then(|okm| okm.fill(out.as_mut()))
            .expect("HKDF-SHA256 can always fill 32 bytes");
        out
    }

    /// Keyed digest of a batch's content as it travels between devices: the same
    /// batch id arriving again with other content is flagged, never merged.
    #[must_use]
    pub fn content_digester(&self) -> SheetDigester {
        let key = hmac::Key::new(hmac::HMAC_SHA256, &self.0);
        let mut context = hmac::Context::with_key(&key);
        context.update(CONTENT_DIGEST_CONTEXT);
        SheetDigester(context)
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

/// Tries one slot; `None` for a wrong passphrase, a damaged slot, or a cost outside
/// [`Kdf::is_sane`] alike.
fn open_slot(passphrase: &Passphrase, slot: &KeySlot) -> Option<ProgramKey> {
    let nonce: [u8; aead::NONCE_LEN] = slot.nonce.as_slice().try_into().ok()?;
    if !slot.kdf.is_sane() || slot.salt.len() != SALT_LEN {
        return None;
    }
    let wrapping = wrapping_key(passphrase, &slot.salt, slot.kdf)?;
    let mut buffer = Zeroizing::new(slot.sealed_key.clone());
    let plain = wrapping
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(slot.associated_data()),
            &mut buffer,
        )
        .ok()?;
    let plain: [u8; KEY_LEN] = plain.try_into().ok()?;
    match slot.kdf {
        // The old seal held the program key itself.
        Kdf::Pbkdf2 { .. } => Some(ProgramKey(plain)),
        Kdf::Argon2id { .. } => unwrap_for(slot, &x25519_dalek::StaticSecret::from(plain)),
    }
}

/// Opens `slot`'s wrapped program key with the slot's secret.
fn unwrap_for(slot: &KeySlot, secret: &x25519_dalek::StaticSecret) -> Option<ProgramKey> {
    if slot.public_key.as_slice() != x25519_dalek::PublicKey::from(secret).as_bytes() {
        return None;
    }
    let (ephemeral, rest) = slot.wrapped_key.split_at_checked(KEY_LEN)?;
    let (nonce, sealed) = rest.split_at_checked(aead::NONCE_LEN)?;
    let ephemeral: [u8; KEY_LEN] = ephemeral.try_into().ok()?;
    let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(ephemeral));
    if !shared.was_contributory() {
        return None;
    }
    let key = wrap_key(shared.as_bytes(), &ephemeral, &slot.public_key);
    let mut buffer = Zeroizing::new(sealed.to_vec());
    let plain = key
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce.try_into().ok()?),
            aead::Aad::from(wrap_aad(slot, &ephemeral)),
            &mut buffer,
        )
        .ok()?;
    Some(ProgramKey(plain.try_into().ok()?))
}

/// The AES-256-GCM key of a wrapped program key: HKDF-SHA256 of the X25519 shared
/// secret, both public keys in its info.
fn wrap_key(shared: &[u8; KEY_LEN], ephemeral: &[u8], slot_public: &[u8]) -> aead::LessSafeKey {
    let prk = hkdf::Salt::new(hkdf::HKDF_SHA256, WRAP_CONTEXT).extract(shared);
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    prk.expand(&[ephemeral, slot_public], hkdf::HKDF_SHA256)
        .and_then(|okm| okm.fill(bytes.as_mut()))
        .expect("HKDF-SHA256 can always fill 32 bytes");
    let unbound = aead::UnboundKey::new(&aead::AES_256_GCM, bytes.as_ref())
        .expect("AES-256-GCM takes a 32-byte key");
    aead::LessSafeKey::new(unbound)
}

/// What a wrapped program key authenticates: the slot's label and public key and the
/// ephemeral public key, so a wrap cannot be moved to another slot.
fn wrap_aad(slot: &KeySlot, ephemeral: &[u8]) -> Vec<u8> {
    let mut aad = WRAP_CONTEXT.to_vec();
    for part in [slot.label.as_bytes(), &slot.public_key, ephemeral] {
        push_part(&mut aad, part);
    }
    aad
}

/// Stretches the passphrase into an AES-256-GCM key; the raw bytes are wiped on return.
fn wrapping_key(passphrase: &Passphrase, salt: &[u8], kdf: Kdf) -> Option<aead::LessSafeKey> {
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    match kdf {
        Kdf::Argon2id {
            memory_kib,
            passes,
            lanes,
        } => {
            let params = argon2::Params::new(memory_kib, passes, lanes, Some(KEY_LEN)).ok()?;
            argon2::Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params)
                .hash_password_into(passphrase.as_bytes(), salt, bytes.as_mut())
                .ok()?;
        }
        Kdf::Pbkdf2 { iterations } => pbkdf2::derive(
            pbkdf2::PBKDF2_HMAC_SHA256,
            NonZeroU32::new(iterations)?,
            salt,
            passphrase.as_bytes(),
            bytes.as_mut(),
        ),
    }
    let unbound = aead::UnboundKey::new(&aead::AES_256_GCM, bytes.as_ref())
        .expect("AES-256-GCM takes a 32-byte key");
    Some(aead::LessSafeKey::new(unbound))
}

/// Key for one fiscal year's participant codes.
///
/// Same rules as [`ProgramKey`]: no `Clone`, `Serialize` or `Display`.
#[derive(Zeroize, ZeroizeOnDrop)]
pub struct EpochKey([u8; KEY_LEN]);

impl EpochKey {
    /// A key carried across a rotation, as stored in the (encrypted) program file.
    #[must_use]
    pub fn from_stored(bytes: [u8; KEY_LEN]) -> Self {
        EpochKey(bytes)
    }

    /// The bytes to store when a rotation carries this key over.
    #[must_use]
    pub fn to_stored(&self) -> Zeroizing<[u8; KEY_LEN]> {
        Zeroizing::new(self.0)
    }

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

    fn seal(key: &ProgramKey, label: &str, phrase: &str) -> KeySlot {
        key.seal(
            label,
            "2026-11-30",
            &Passphrase::new(phrase.into()),
            &SystemRandom::new(),
        )
        .unwrap()
    }

    #[test]
    fn a_slot_opens_with_its_passphrase_only() {
        let key = key();
        let slot = seal(&key, "initial", "correct horse");
        let (index, opened) = ProgramKey::unlock(
            &Passphrase::new("correct horse".into()),
            std::slice::from_ref(&slot),
        )
        .unwrap();
        assert_eq!((index, opened.0), (0, key.0));
        assert!(opened.passes_check(&key.key_check()));
        let wrong = ProgramKey::unlock(&Passphrase::new("correct horsE".into()), &[slot]);
        assert!(matches!(wrong, Err(Error::WrongPassphrase)));
    }

    #[test]
    fn a_key_of_another_program_fails_the_key_check() {
        let ours = key();
        let theirs = key();
        let slot = seal(&theirs, "initial", "same passphrase");
        let (_, opened) =
            ProgramKey::unlock(&Passphrase::new("same passphrase".into()), &[slot]).unwrap();
        assert!(!opened.passes_check(&ours.key_check()));
    }

    /// The forensic review swapped two slots' labels, and removing one label removed
    /// the other's passphrase; and re-sealed a slot with a trivial cost.
    #[test]
    fn a_slot_with_its_label_cost_salt_or_seal_changed_does_not_open() {
        let key = key();
        let phrase = Passphrase::new("correct horse".into());
        let slot = seal(&key, "worker-cd", "correct horse");
        let mut changes: Vec<KeySlot> = Vec::new();
        let mut relabelled = slot.clone();
        relabelled.label = "coordinator".into();
        changes.push(relabelled);
        let mut cheaper = slot.clone();
        cheaper.kdf = Kdf::Argon2id {
            memory_kib: ARGON2_MEMORY_KIB / 2,
            passes: ARGON2_PASSES,
            lanes: ARGON2_LANES,
        };
        changes.push(cheaper);
        let mut salted = slot.clone();
        salted.salt[0] ^= 1;
        changes.push(salted);
        let mut tampered = slot.clone();
        tampered.sealed_key[3] ^= 1;
        changes.push(tampered);
        for changed in changes {
            assert!(ProgramKey::unlock(&phrase, &[changed]).is_err());
        }
        assert!(ProgramKey::unlock(&phrase, &[slot]).is_ok());
    }

    #[test]
    fn costs_outside_the_sane_range_are_refused_before_any_work() {
        for kdf in [
            Kdf::Pbkdf2 { iterations: 1 },
            Kdf::Pbkdf2 {
                iterations: u32::MAX,
            },
            Kdf::Argon2id {
                memory_kib: 8,
                passes: 3,
                lanes: 1,
            },
            Kdf::Argon2id {
                memory_kib: u32::MAX,
                passes: 3,
                lanes: 1,
            },
            Kdf::Argon2id {
                memory_kib: ARGON2_MEMORY_KIB,
                passes: u32::MAX,
                lanes: 1,
            },
        ] {
            assert!(!kdf.is_sane(), "{kdf:?}");
        }
        assert!(Kdf::CURRENT.is_sane());
        assert!(
            Kdf::Pbkdf2 {
                iterations: PBKDF2_ITERATIONS
            }
            .is_sane()
        );
        // A huge cost returns at once instead of hanging.
        let key = key();
        let mut slot = seal(&key, "initial", "correct horse");
        slot.kdf = Kdf::Pbkdf2 {
            iterations: u32::MAX,
        };
        let started = std::time::Instant::now();
        assert!(ProgramKey::unlock(&Passphrase::new("correct horse".into()), &[slot]).is_err());
        assert!(started.elapsed() < std::time::Duration::from_secs(5));
    }

    #[test]
    fn the_database_key_is_a_raw_sqlcipher_key_and_differs_by_program() {
        let a = key().database_key();
        let b = key().database_key();
        assert_eq!(a.pragma_value().len(), 67);
        assert!(a.pragma_value().starts_with("x'") && a.pragma_value().ends_with('\''));
        assert_ne!(a.pragma_value(), b.pragma_value());
        assert_eq!(format!("{a:?}"), "DatabaseKey(<redacted>)");
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
