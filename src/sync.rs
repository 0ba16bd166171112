//! Several laptops, one program: the sealed, signed envelopes that carry records
//! between them.
//!
//! A worker's laptop writes its new records into a **bundle**: an in-memory SQLite
//! image (made by [`crate::store`]), sealed with AES-256-GCM under a key derived
//! from the program key and signed with the laptop's own Ed25519 key. The coordinator
//! merges bundles by set union, so merging one twice, or several in any order, gives
//! the same program; its own bundle goes back down with the catalogue, voids, closed
//! years and acknowledgements, and never a contact. There is no server: a bundle is
//! a file, carried by a USB stick, a shared folder or Syncthing.
//!
//! Why both a seal and a signature: every device holds the program key (codes must be
//! the same everywhere), so the seal alone proves only "made by someone in the
//! program". The signature names the laptop, so a revoked laptop's new bundles are
//! refused, and one worker cannot pass records off as another's.
//!
//! A laptop joins with an **enrolment file** from the coordinator: the program's
//! settings and catalogue, the laptop's id and signing key, all sealed under the
//! program key, which itself travels in one key slot sealed under a one-time
//! passphrase that kitlog shows on the coordinator's screen, to be told in person.
//!
//! This module is pure: bytes in, bytes out. Nothing here reads a file or the store.

use std::fmt::Write as _;

use ring::aead;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, Ed25519KeyPair, KeyPair};
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::keys::{Passphrase, ProgramKey};

/// A device's id: 16 random bytes made when it is enrolled.
pub type DeviceId = [u8; 16];

/// What a laptop is in the program.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Merges every worker's bundles and reports for the whole program.
    Coordinator,
    /// Saves shifts and imports, sends them up, and forgets them once acknowledged.
    Worker,
}

impl Role {
    /// As stored.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Coordinator => "coordinator",
            Role::Worker => "worker",
        }
    }

    /// From the stored form.
    #[must_use]
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "coordinator" => Some(Role::Coordinator),
            "worker" => Some(Role::Worker),
            _ => None,
        }
    }
}

/// The first bytes of every bundle file.
pub const BUNDLE_MAGIC: &[u8; 4] = b"KLB1";
/// The bundle format this kitlog writes and the newest it reads.
pub const BUNDLE_FORMAT: u16 = 1;
/// What a bundle file's name ends with.
pub const BUNDLE_SUFFIX: &str = ".klb";
const HEADER_LEN: usize = 4 + 2 + 16 + 8;
const SIGNATURE_LEN: usize = 64;
const NONCE_LEN: usize = aead::NONCE_LEN;
const TAG_LEN: usize = 16;
const BUNDLE_KEY: &[u8] = b"kitlog bundle key v1";

const ENROL_MAGIC: &[u8; 4] = b"KLE1";
const ENROL_FORMAT: u16 = 1;
const ENROL_KEY: &[u8] = b"kitlog enrolment key v1";

/// The clear part of a bundle: enough to find the sender's public key and to refuse
/// a format this kitlog cannot read, before any work. Authenticated with the rest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BundleHeader {
    /// The format it was written in.
    pub format: u16,
    /// The device that wrote it.
    pub device: DeviceId,
    /// Its number among that device's bundles, from 1.
    pub seq: u64,
}

impl BundleHeader {
    fn to_bytes(self) -> [u8; HEADER_LEN] {
        let mut out = [0; HEADER_LEN];
        out[..4].copy_from_slice(BUNDLE_MAGIC);
        out[4..6].copy_from_slice(&self.format.to_be_bytes());
        out[6..22].copy_from_slice(&self.device);
        out[22..].copy_from_slice(&self.seq.to_be_bytes());
        out
    }
}

/// Why a bundle was refused; nothing of it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleRefusal {
    /// It does not start like a bundle, or is too short to be one.
    NotABundle,
    /// A newer kitlog wrote it.
    NewerFormat(u16),
    /// Its signature or seal does not check: changed, cut short, or not this program's.
    BadSeal,
}

/// The name a bundle is written under: the sender's short id and its number, so a
/// folder lists each device's bundles in order and a gap is visible.
#[must_use]
pub fn bundle_file_name(device: &DeviceId, seq: u64) -> String {
    format!("kitlog-{}-{seq:06}{BUNDLE_SUFFIX}", short_id(device))
}

/// The first 4 bytes of an id in hex: how a device is named in file names and
/// messages beside its label.
#[must_use]
pub fn short_id(id: &DeviceId) -> String {
    id[..4].iter().fold(String::with_capacity(8), |mut hex, b| {
        let _ = write!(hex, "{b:02x}");
        hex
    })
}

/// A new Ed25519 signing key: the PKCS#8 document (kept in the encrypted program file
/// only) and its public key.
pub fn new_signing_key() -> Result<(Zeroizing<Vec<u8>>, [u8; 32])> {
    let random = SystemRandom::new();
    let document = Ed25519KeyPair::generate_pkcs8(&random).map_err(|_| Error::Randomness)?;
    let pkcs8 = Zeroizing::new(document.as_ref().to_vec());
    let pair = Ed25519KeyPair::from_pkcs8(&pkcs8).map_err(|_| Error::Randomness)?;
    let public: [u8; 32] = pair
        .public_key()
        .as_ref()
        .try_into()
        .map_err(|_| Error::Randomness)?;
    Ok((pkcs8, public))
}

/// Seals and signs a bundle image: header, nonce, AES-256-GCM of the image with the
/// header as associated data, then an Ed25519 signature over all of that.
pub fn seal_bundle(
    key: &ProgramKey,
    signing_key: &[u8],
    header: BundleHeader,
    image: &[u8],
) -> Result<Vec<u8>> {
    let signer = Ed25519KeyPair::from_pkcs8(signing_key).map_err(|_| Error::Damaged)?;
    let head = header.to_bytes();
    let mut out = Vec::with_capacity(HEADER_LEN + NONCE_LEN + image.len() + TAG_LEN + 64);
    out.extend_from_slice(&head);
    let nonce = random_nonce()?;
    out.extend_from_slice(&nonce);
    let start = out.len();
    out.extend_from_slice(image);
    let tag = aead_key(key, BUNDLE_KEY)
        .seal_in_place_separate_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(head),
            &mut out[start..],
        )
        .map_err(|_| Error::Randomness)?;
    out.extend_from_slice(tag.as_ref());
    let signature = signer.sign(&out);
    out.extend_from_slice(signature.as_ref());
    Ok(out)
}

/// The header of a bundle, read without the key: magic, length and format first.
pub fn read_bundle_header(bytes: &[u8]) -> Result<BundleHeader, BundleRefusal> {
    if bytes.len() < HEADER_LEN + NONCE_LEN + TAG_LEN + SIGNATURE_LEN || &bytes[..4] != BUNDLE_MAGIC
    {
        return Err(BundleRefusal::NotABundle);
    }
    let format = u16::from_be_bytes([bytes[4], bytes[5]]);
    if format > BUNDLE_FORMAT {
        return Err(BundleRefusal::NewerFormat(format));
    }
    let device: DeviceId = bytes[6..22].try_into().expect("16 bytes");
    let seq = u64::from_be_bytes(bytes[22..30].try_into().expect("8 bytes"));
    Ok(BundleHeader {
        format,
        device,
        seq,
    })
}

/// The image inside a bundle, once its signature checks against `public_key` and its
/// seal opens under the program key. Any changed bit, a cut, another nonce, another
/// program or another sender gives [`BundleRefusal::BadSeal`].
pub fn open_bundle(
    key: &ProgramKey,
    public_key: &[u8],
    bytes: &[u8],
) -> Result<Zeroizing<Vec<u8>>, BundleRefusal> {
    read_bundle_header(bytes)?;
    let (signed, signature) = bytes.split_at(bytes.len() - SIGNATURE_LEN);
    signature::UnparsedPublicKey::new(&signature::ED25519, public_key)
        .verify(signed, signature)
        .map_err(|_| BundleRefusal::BadSeal)?;
    let (head, rest) = signed.split_at(HEADER_LEN);
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().expect("12 bytes");
    let mut image = Zeroizing::new(sealed.to_vec());
    let plain_len = aead_key(key, BUNDLE_KEY)
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(head),
            &mut image,
        )
        .map_err(|_| BundleRefusal::BadSeal)?
        .len();
    image.truncate(plain_len);
    Ok(image)
}

/// Seals an enrolment file: the one-time key slot in clear (it is sealed already),
/// then the image under the program key, with magic, format and slot bound in.
pub fn seal_enrolment(key: &ProgramKey, slot: &[u8], image: &[u8]) -> Result<Vec<u8>> {
    let mut head = Vec::with_capacity(10 + slot.len());
    head.extend_from_slice(ENROL_MAGIC);
    head.extend_from_slice(&ENROL_FORMAT.to_be_bytes());
    head.extend_from_slice(
        &u32::try_from(slot.len())
            .map_err(|_| Error::Damaged)?
            .to_be_bytes(),
    );
    head.extend_from_slice(slot);
    let nonce = random_nonce()?;
    let mut sealed = Vec::with_capacity(image.len() + TAG_LEN);
    sealed.extend_from_slice(image);
    aead_key(key, ENROL_KEY)
        .seal_in_place_append_tag(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(&head),
            &mut sealed,
        )
        .map_err(|_| Error::Randomness)?;
    let mut out = head;
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    Ok(out)
}

/// The key slot of an enrolment file, read before the passphrase is asked.
#[must_use]
pub fn enrolment_slot(bytes: &[u8]) -> Option<&[u8]> {
    if bytes.len() < 10 || &bytes[..4] != ENROL_MAGIC {
        return None;
    }
    if u16::from_be_bytes([bytes[4], bytes[5]]) != ENROL_FORMAT {
        return None;
    }
    let len = u32::from_be_bytes(bytes[6..10].try_into().ok()?) as usize;
    bytes.get(10..10usize.checked_add(len)?)
}

/// The image of an enrolment file, opened with the program key its slot gave.
#[must_use]
pub fn open_enrolment(key: &ProgramKey, bytes: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let slot_len = enrolment_slot(bytes)?.len();
    let head_len = 10 + slot_len;
    let (head, rest) = bytes.split_at(head_len);
    if rest.len() < NONCE_LEN + TAG_LEN {
        return None;
    }
    let (nonce, sealed) = rest.split_at(NONCE_LEN);
    let nonce: [u8; NONCE_LEN] = nonce.try_into().ok()?;
    let mut image = Zeroizing::new(sealed.to_vec());
    let len = aead_key(key, ENROL_KEY)
        .open_in_place(
            aead::Nonce::assume_unique_for_key(nonce),
            aead::Aad::from(head),
            &mut image,
        )
        .ok()?
        .len();
    image.truncate(len);
    Some(image)
}

/// Letters and digits that cannot be misread for one another when read aloud or
/// copied from a screen (no 0/O, 1/I/L, 5/S, 2/Z, 8/B).
const SPOKEN_ALPHABET: &[u8; 25] = b"ACDEFGHJKMNPQRTUVWXY34679";

/// A fresh one-time passphrase for an enrolment file: 4 groups of 5 from a 25-symbol
/// alphabet, about 93 bits, then stretched like any key slot's passphrase. Shown once
/// on the coordinator's screen and never stored.
pub fn one_time_passphrase() -> Result<Passphrase> {
    let random = SystemRandom::new();
    let mut text = String::with_capacity(23);
    let mut bytes = Zeroizing::new([0u8; 20]);
    random.fill(bytes.as_mut()).map_err(|_| Error::Randomness)?;
    for (index, byte) in bytes.iter().enumerate() {
        if index > 0 && index % 5 == 0 {
            text.push('-');
        }
        // 256 = 10 × 25 + 6: reject the top values so every symbol is equally likely.
        let mut value = *byte;
        while value >= 250 {
            let mut again = [0u8; 1];
            random.fill(&mut again).map_err(|_| Error::Randomness)?;
            value = again[0];
        }
        text.push(char::from(SPOKEN_ALPHABET[usize::from(value % 25)]));
    }
    Ok(Passphrase::new(text))
}

fn random_nonce() -> Result<[u8; NONCE_LEN]> {
    let mut nonce = [0; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| Error::Randomness)?;
    Ok(nonce)
}

fn aead_key(key: &ProgramKey, purpose: &'static [u8]) -> aead::LessSafeKey {
    let bytes = key.subkey(purpose);
    aead::LessSafeKey::new(
        aead::UnboundKey::new(&aead::AES_256_GCM, bytes.as_ref()).expect("a 32-byte key"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> ProgramKey {
        ProgramKey::generate(&SystemRandom::new()).unwrap()
    }

    fn header() -> BundleHeader {
        BundleHeader {
            format: BUNDLE_FORMAT,
            device: [7; 16],
            seq: 3,
        }
    }

    #[test]
    fn a_bundle_opens_with_its_key_and_sender_only() {
        let (key, other) = (key(), key());
        let (signing, public) = new_signing_key().unwrap();
        let (_, stranger) = new_signing_key().unwrap();
        let image = b"an image of a few bytes".to_vec();
        let sealed = seal_bundle(&key, &signing, header(), &image).unwrap();
        assert_eq!(read_bundle_header(&sealed), Ok(header()));
        assert_eq!(*open_bundle(&key, &public, &sealed).unwrap(), image);
        assert_eq!(
            open_bundle(&other, &public, &sealed),
            Err(BundleRefusal::BadSeal)
        );
        assert_eq!(
            open_bundle(&key, &stranger, &sealed),
            Err(BundleRefusal::BadSeal)
        );
        // The image is not in the file in clear.
        assert!(!sealed.windows(image.len()).any(|w| w == image.as_slice()));
    }

    #[test]
    fn every_single_bit_flip_and_every_cut_is_refused() {
        let key = key();
        let (signing, public) = new_signing_key().unwrap();
        let sealed = seal_bundle(&key, &signing, header(), &[42; 200]).unwrap();
        for bit in 0..sealed.len() * 8 {
            let mut bad = sealed.clone();
            bad[bit / 8] ^= 1 << (bit % 8);
            assert!(open_bundle(&key, &public, &bad).is_err(), "bit {bit}");
        }
        for len in 0..sealed.len() {
            assert!(open_bundle(&key, &public, &sealed[..len]).is_err(), "{len}");
        }
    }

    #[test]
    fn a_nonce_from_another_bundle_is_refused() {
        let key = key();
        let (signing, public) = new_signing_key().unwrap();
        let one = seal_bundle(&key, &signing, header(), &[1; 64]).unwrap();
        let two = seal_bundle(&key, &signing, header(), &[1; 64]).unwrap();
        let mut swapped = one.clone();
        swapped[HEADER_LEN..HEADER_LEN + NONCE_LEN]
            .copy_from_slice(&two[HEADER_LEN..HEADER_LEN + NONCE_LEN]);
        assert_eq!(
            open_bundle(&key, &public, &swapped),
            Err(BundleRefusal::BadSeal)
        );
    }

    #[test]
    fn a_newer_format_is_refused_before_any_work() {
        let key = key();
        let (signing, _) = new_signing_key().unwrap();
        let newer = BundleHeader {
            format: BUNDLE_FORMAT + 1,
            ..header()
        };
        let sealed = seal_bundle(&key, &signing, newer, &[0; 8]).unwrap();
        assert_eq!(
            read_bundle_header(&sealed),
            Err(BundleRefusal::NewerFormat(BUNDLE_FORMAT + 1))
        );
    }

    #[test]
    fn an_enrolment_file_opens_with_the_program_key_only() {
        let (key, other) = (key(), key());
        let sealed = seal_enrolment(&key, b"slot bytes", b"the image").unwrap();
        assert_eq!(enrolment_slot(&sealed), Some(&b"slot bytes"[..]));
        assert_eq!(&*open_enrolment(&key, &sealed).unwrap(), b"the image");
        assert!(open_enrolment(&other, &sealed).is_none());
        let mut changed = sealed.clone();
        changed[12] ^= 1;
        assert!(open_enrolment(&key, &changed).is_none());
    }

    #[test]
    fn one_time_passphrases_are_long_and_unambiguous() {
        let alphabet: std::collections::HashSet<u8> = SPOKEN_ALPHABET.iter().copied().collect();
        assert_eq!(alphabet.len(), SPOKEN_ALPHABET.len());
        let passphrase = one_time_passphrase().unwrap();
        let groups: Vec<&str> = passphrase.as_str().split('-').collect();
        assert_eq!(groups.len(), 4);
        for group in groups {
            assert_eq!(group.len(), 5);
            assert!(group.bytes().all(|b| alphabet.contains(&b)));
        }
        for confusable in b"0O1IL5S2Z8B" {
            assert!(!alphabet.contains(confusable));
        }
    }
}
