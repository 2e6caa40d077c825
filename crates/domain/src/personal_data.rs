//! Personal data at rest: SM4 in GCM mode (authenticated) for stored values,
//! HMAC-SM3 for equality look-ups, and the key ring that rotation needs.
//!
//! A stored value is `v1:<key id>:<base64 of nonce ‖ ciphertext ‖ tag>` with
//! a random 96-bit nonce per value; the additional data binds the value to
//! its version, key id and field (a ciphertext moved to another column does
//! not decrypt). The configured key is a master key of 128 bits: the SM4 key
//! and the look-up key are derived from it with HMAC-SM3 under distinct
//! labels, so a look-up hash reveals nothing about the cipher key.
//!
//! The keys come from configuration (see `docs/personal-data.md`), never from
//! the database. Values without the `v1:` prefix are plain text written
//! before encryption was switched on; reading passes them through and the
//! re-encryption sweep replaces them.

use std::fmt;

use aes_gcm::AesGcm;
use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD_NO_PAD as BASE64;
use hmac::{Hmac, Mac};
use rand::RngCore as _;
use sm3::Sm3;
use sm4::Sm4;

/// SM4-GCM with a 96-bit nonce (GB/T 36624, RFC 8998).
type Sm4Gcm = AesGcm<Sm4, U12>;
type HmacSm3 = Hmac<Sm3>;

const VERSION: &str = "v1";
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const CIPHER_LABEL: &[u8] = b"mashangban personal data: sm4-gcm";
const LOOKUP_LABEL: &[u8] = b"mashangban personal data: lookup";

/// Why a key or a stored value was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CryptoError {
    /// The key text is not `<id>:<32 hex digits>` (the reason, in Chinese).
    BadKey(String),
    /// Two configured keys share an id.
    DuplicateKeyId(String),
    /// Two configured key ids differ only by case (SQLite's `LIKE`, which the
    /// sweep uses to find values under the current key, ignores ASCII case).
    KeyIdCaseClash(String, String),
    /// The value names a key id that is not configured.
    UnknownKey(String),
    /// The value is not in the stored form, or it was altered, or it was
    /// written under another key with the same id.
    Tampered,
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::BadKey(why) => write!(f, "个人信息密钥无效：{why}"),
            Self::DuplicateKeyId(id) => write!(f, "个人信息密钥编号 {id} 重复"),
            Self::KeyIdCaseClash(a, b) => write!(f, "个人信息密钥编号 {a} 与 {b} 仅大小写不同，请改用可区分的编号"),
            Self::UnknownKey(id) => write!(f, "数据由未配置的个人信息密钥 {id} 加密，请在配置中加入该密钥"),
            Self::Tampered => f.write_str("个人信息密文无法解密（被改动或密钥不符）"),
        }
    }
}

impl std::error::Error for CryptoError {}

/// One master key with its id (the id is stored with every value it encrypts).
#[derive(Clone)]
pub struct PersonalDataKey {
    id: String,
    master: [u8; 16],
    cipher: Sm4Gcm,
    lookup: HmacSm3,
}

impl fmt::Debug for PersonalDataKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PersonalDataKey({}, …)", self.id)
    }
}

impl PersonalDataKey {
    /// A key from its id (1–16 of `A-Z a-z 0-9 -`) and 128 bits.
    pub fn new(id: &str, master: [u8; 16]) -> Result<Self, CryptoError> {
        let id_ok = !id.is_empty() && id.len() <= 16 && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !id_ok {
            return Err(CryptoError::BadKey(format!("编号 {id:?} 须为 1–16 个字母、数字或 -")));
        }
        let cipher_key = derive(&master, CIPHER_LABEL);
        let lookup_key = derive(&master, LOOKUP_LABEL);
        let cipher = Sm4Gcm::new_from_slice(&cipher_key[..16]).map_err(|e| CryptoError::BadKey(e.to_string()))?;
        let lookup = <HmacSm3 as Mac>::new_from_slice(&lookup_key).map_err(|e| CryptoError::BadKey(e.to_string()))?;
        Ok(Self { id: id.to_owned(), master, cipher, lookup })
    }

    /// A new random key named `id`.
    pub fn generate(id: &str) -> Result<Self, CryptoError> {
        let mut master = [0u8; 16];
        rand::rngs::OsRng.fill_bytes(&mut master);
        Self::new(id, master)
    }

    /// Parses the configuration form `<id>:<32 hex digits>`.
    pub fn parse(text: &str) -> Result<Self, CryptoError> {
        let text = text.trim();
        let (id, hex_key) =
            text.split_once(':').ok_or_else(|| CryptoError::BadKey("格式应为 编号:32位十六进制".into()))?;
        let bytes = hex::decode(hex_key).map_err(|_| CryptoError::BadKey("密钥须为 32 位十六进制数字".into()))?;
        let master: [u8; 16] =
            bytes.try_into().map_err(|_| CryptoError::BadKey("密钥须为 128 位（32 位十六进制数字）".into()))?;
        Self::new(id, master)
    }

    /// The configuration form, `<id>:<32 hex digits>` (a secret: write it to a private file only).
    pub fn to_config_text(&self) -> String {
        format!("{}:{}", self.id, hex::encode(self.master))
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    fn encrypt(&self, field: &str, plain: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        rand::thread_rng().fill_bytes(&mut nonce);
        let aad = aad(&self.id, field);
        // Encryption into a Vec cannot fail for inputs below GCM's 64 GiB limit.
        let sealed = self
            .cipher
            .encrypt(aes_gcm::Nonce::<U12>::from_slice(&nonce), Payload { msg: plain.as_bytes(), aad: aad.as_bytes() })
            .unwrap_or_default();
        let mut blob = Vec::with_capacity(NONCE_LEN + sealed.len());
        blob.extend_from_slice(&nonce);
        blob.extend_from_slice(&sealed);
        format!("{VERSION}:{}:{}", self.id, BASE64.encode(blob))
    }

    fn decrypt(&self, field: &str, encoded: &str) -> Result<String, CryptoError> {
        let blob = BASE64.decode(encoded).map_err(|_| CryptoError::Tampered)?;
        if blob.len() < NONCE_LEN + TAG_LEN {
            return Err(CryptoError::Tampered);
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let aad = aad(&self.id, field);
        let plain = self
            .cipher
            .decrypt(aes_gcm::Nonce::<U12>::from_slice(nonce), Payload { msg: sealed, aad: aad.as_bytes() })
            .map_err(|_| CryptoError::Tampered)?;
        String::from_utf8(plain).map_err(|_| CryptoError::Tampered)
    }

    fn lookup_hash(&self, value: &str) -> String {
        let mut mac = self.lookup.clone();
        mac.update(value.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

fn derive(master: &[u8; 16], label: &[u8]) -> [u8; 32] {
    // A 16-byte key is always accepted by HMAC.
    let mut mac = <HmacSm3 as Mac>::new_from_slice(master).unwrap_or_else(|_| unreachable!());
    mac.update(label);
    let mut out = [0u8; 32];
    out.copy_from_slice(&mac.finalize().into_bytes());
    out
}

fn aad(key_id: &str, field: &str) -> String {
    format!("{VERSION}:{key_id}:{field}")
}

/// The current key (every new value) and the previous ones (read until the
/// rotation sweep has re-encrypted everything).
#[derive(Debug, Clone)]
pub struct Keyring {
    current: PersonalDataKey,
    previous: Vec<PersonalDataKey>,
}

/// How a stored value stands against the key ring.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stored {
    /// Plain text written before encryption (no `v1:` prefix).
    Plain,
    /// Encrypted under the current key.
    Current,
    /// Encrypted under another key (configured or not).
    Other,
}

impl Keyring {
    pub fn new(current: PersonalDataKey, previous: Vec<PersonalDataKey>) -> Result<Self, CryptoError> {
        let mut ids = vec![current.id.as_str()];
        for key in &previous {
            if ids.contains(&key.id.as_str()) {
                return Err(CryptoError::DuplicateKeyId(key.id.clone()));
            }
            if let Some(clash) = ids.iter().find(|id| id.eq_ignore_ascii_case(&key.id)) {
                return Err(CryptoError::KeyIdCaseClash((*clash).to_owned(), key.id.clone()));
            }
            ids.push(&key.id);
        }
        Ok(Self { current, previous })
    }

    /// A ring of one random key, the same for the whole process: for tests and
    /// tools that never read personal data across processes.
    pub fn ephemeral() -> Self {
        static KEY: std::sync::OnceLock<Keyring> = std::sync::OnceLock::new();
        KEY.get_or_init(|| {
            let key = PersonalDataKey::generate("ephemeral").unwrap_or_else(|_| unreachable!());
            Self { current: key, previous: Vec::new() }
        })
        .clone()
    }

    pub fn current(&self) -> &PersonalDataKey {
        &self.current
    }

    /// Every configured key id, the current one first.
    pub fn key_ids(&self) -> Vec<&str> {
        std::iter::once(&self.current).chain(&self.previous).map(|k| k.id.as_str()).collect()
    }

    /// `plain` encrypted under the current key for the column `field`.
    pub fn encrypt(&self, field: &str, plain: &str) -> String {
        self.current.encrypt(field, plain)
    }

    /// The plain text of a stored value of the column `field`; plain text
    /// (no `v1:` prefix) passes through.
    pub fn decrypt(&self, field: &str, stored: &str) -> Result<String, CryptoError> {
        let Some(rest) = stored.strip_prefix("v1:") else { return Ok(stored.to_owned()) };
        let (id, encoded) = rest.split_once(':').ok_or(CryptoError::Tampered)?;
        let key = std::iter::once(&self.current)
            .chain(&self.previous)
            .find(|k| k.id == id)
            .ok_or_else(|| CryptoError::UnknownKey(id.to_owned()))?;
        key.decrypt(field, encoded)
    }

    /// Where a stored value stands: plain, under the current key, or under another.
    pub fn classify(&self, stored: &str) -> Stored {
        match stored.strip_prefix("v1:") {
            None => Stored::Plain,
            Some(rest) if rest.split_once(':').is_some_and(|(id, _)| id == self.current.id) => Stored::Current,
            Some(_) => Stored::Other,
        }
    }

    /// The prefix of values under the current key, for SQL `LIKE 'prefix%'`
    /// (key ids hold no `%` or `_`).
    pub fn current_prefix(&self) -> String {
        format!("{VERSION}:{}:", self.current.id)
    }

    /// The keyed hash of `value` stored beside it for equality look-ups (current key).
    pub fn lookup_hash(&self, value: &str) -> String {
        self.current.lookup_hash(value)
    }

    /// The hashes `value` may be stored under: one per configured key, so a
    /// look-up finds rows the rotation sweep has not reached yet.
    pub fn lookup_hashes(&self, value: &str) -> Vec<String> {
        std::iter::once(&self.current).chain(&self.previous).map(|k| k.lookup_hash(value)).collect()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn key(id: &str, byte: u8) -> PersonalDataKey {
        PersonalDataKey::new(id, [byte; 16]).unwrap()
    }

    fn ring(id: &str, byte: u8) -> Keyring {
        Keyring::new(key(id, byte), Vec::new()).unwrap()
    }

    #[test]
    fn sm4_gcm_matches_rfc_8998_example() {
        // RFC 8998 appendix A.1 (SM4-GCM), taken as the cipher below our derivation.
        let cipher = Sm4Gcm::new_from_slice(&hex::decode("0123456789ABCDEFFEDCBA9876543210").unwrap()).unwrap();
        let nonce = hex::decode("00001234567800000000ABCD").unwrap();
        let aad = hex::decode("FEEDFACEDEADBEEFFEEDFACEDEADBEEFABADDAD2").unwrap();
        let plain = hex::decode(
            "AAAAAAAAAAAAAAAABBBBBBBBBBBBBBBBCCCCCCCCCCCCCCCCDDDDDDDDDDDDDDDD\
             EEEEEEEEEEEEEEEEFFFFFFFFFFFFFFFFEEEEEEEEEEEEEEEEAAAAAAAAAAAAAAAA",
        )
        .unwrap();
        let sealed =
            cipher.encrypt(aes_gcm::Nonce::<U12>::from_slice(&nonce), Payload { msg: &plain, aad: &aad }).unwrap();
        assert_eq!(
            hex::encode_upper(&sealed),
            "17F399F08C67D5EE19D0DC9969C4BB7D5FD46FD3756489069157B282BB200735\
             D82710CA5C22F0CCFA7CBF93D496AC15A56834CBCF98C397B4024A2691233B8D\
             83DE3541E4C2B58177E065A9BF7B62EC"
        );
    }

    #[test]
    fn round_trip_and_form() {
        let ring = ring("k1", 7);
        let stored = ring.encrypt("contact_phone", "13912345678");
        assert!(stored.starts_with("v1:k1:"), "{stored}");
        assert!(!stored.contains("13912345678"));
        assert_eq!(ring.decrypt("contact_phone", &stored).unwrap(), "13912345678");
        assert_eq!(ring.classify(&stored), Stored::Current);
        let name = ring.encrypt("contact_name", "张三");
        assert_eq!(ring.decrypt("contact_name", &name).unwrap(), "张三");
        assert_eq!(ring.decrypt("contact_name", &ring.encrypt("contact_name", "")).unwrap(), "");
    }

    #[test]
    fn plain_values_pass_through() {
        let ring = ring("k1", 7);
        assert_eq!(ring.decrypt("contact_phone", "13912345678").unwrap(), "13912345678");
        assert_eq!(ring.classify("13912345678"), Stored::Plain);
    }

    #[test]
    fn tampering_is_detected() {
        let ring = ring("k1", 7);
        let stored = ring.encrypt("contact_phone", "13912345678");
        let (head, body) = stored.split_at(6);
        let mut bytes = BASE64.decode(body).unwrap();
        for i in [0, NONCE_LEN, bytes.len() - 1] {
            bytes[i] ^= 1;
            let altered = format!("{head}{}", BASE64.encode(&bytes));
            assert_eq!(ring.decrypt("contact_phone", &altered), Err(CryptoError::Tampered), "byte {i}");
            bytes[i] ^= 1;
        }
        // Moved to another column: the field is bound in the additional data.
        assert_eq!(ring.decrypt("contact_name", &stored), Err(CryptoError::Tampered));
        // Truncated or not base64.
        assert_eq!(ring.decrypt("contact_phone", "v1:k1:AAAA"), Err(CryptoError::Tampered));
        assert_eq!(ring.decrypt("contact_phone", "v1:k1:!!"), Err(CryptoError::Tampered));
        assert_eq!(ring.decrypt("contact_phone", "v1:k1"), Err(CryptoError::Tampered));
    }

    #[test]
    fn wrong_key_is_refused() {
        let stored = ring("k1", 7).encrypt("contact_phone", "13912345678");
        // Same id, other key bits: authentication fails.
        assert_eq!(ring("k1", 8).decrypt("contact_phone", &stored), Err(CryptoError::Tampered));
        // Another id: named in the error.
        assert_eq!(ring("k2", 7).decrypt("contact_phone", &stored), Err(CryptoError::UnknownKey("k1".into())));
        assert_eq!(ring("k2", 7).classify(&stored), Stored::Other);
    }

    #[test]
    fn rotation_reads_previous_keys_and_writes_the_current_one() {
        let old = ring("k1", 7);
        let stored = old.encrypt("contact_phone", "13912345678");
        let both = Keyring::new(key("k2", 9), vec![key("k1", 7)]).unwrap();
        assert_eq!(both.decrypt("contact_phone", &stored).unwrap(), "13912345678");
        assert_eq!(both.classify(&stored), Stored::Other);
        assert!(both.encrypt("contact_phone", "13912345678").starts_with("v1:k2:"));
        assert_eq!(both.key_ids(), ["k2", "k1"]);
        let hashes = both.lookup_hashes("13912345678");
        assert_eq!(hashes, [both.lookup_hash("13912345678"), old.lookup_hash("13912345678")]);
        assert!(matches!(Keyring::new(key("k1", 1), vec![key("k1", 2)]), Err(CryptoError::DuplicateKeyId(_))));
    }

    #[test]
    fn key_ids_differing_only_by_case_are_refused() {
        let clash = Keyring::new(key("k1", 1), vec![key("k2", 2), key("K1", 3)]).unwrap_err();
        assert_eq!(clash, CryptoError::KeyIdCaseClash("k1".into(), "K1".into()));
        assert!(clash.to_string().contains("仅大小写不同"), "{clash}");
        let among_previous = Keyring::new(key("k3", 1), vec![key("old-A", 2), key("OLD-a", 3)]).unwrap_err();
        assert_eq!(among_previous, CryptoError::KeyIdCaseClash("old-A".into(), "OLD-a".into()));
        assert!(Keyring::new(key("k1", 1), vec![key("k10", 2), key("K2", 3)]).is_ok());
    }

    #[test]
    fn nonces_are_unique() {
        let ring = ring("k1", 7);
        let mut seen = std::collections::HashSet::new();
        for _ in 0..2000 {
            let stored = ring.encrypt("contact_phone", "13912345678");
            let blob = BASE64.decode(&stored[6..]).unwrap();
            assert!(seen.insert(blob[..NONCE_LEN].to_vec()), "a nonce repeated");
        }
    }

    #[test]
    fn lookup_hash_is_keyed_and_stable() {
        let a = ring("k1", 7);
        assert_eq!(a.lookup_hash("13912345678"), a.lookup_hash("13912345678"));
        assert_ne!(a.lookup_hash("13912345678"), a.lookup_hash("13912345679"));
        assert_ne!(a.lookup_hash("13912345678"), ring("k1", 8).lookup_hash("13912345678"));
        assert_eq!(a.lookup_hash("13912345678").len(), 64);
    }

    #[test]
    fn key_text_round_trips_and_bad_keys_are_refused() {
        let k = PersonalDataKey::generate("k-2026").unwrap();
        let parsed = PersonalDataKey::parse(&k.to_config_text()).unwrap();
        let ring = Keyring::new(k, Vec::new()).unwrap();
        let other = Keyring::new(parsed, Vec::new()).unwrap();
        assert_eq!(other.decrypt("f", &ring.encrypt("f", "x")).unwrap(), "x");
        for bad in ["", "k1", "k1:00", "k1:zz000000000000000000000000000000", ":00112233445566778899aabbccddeeff"] {
            assert!(PersonalDataKey::parse(bad).is_err(), "{bad}");
        }
        assert!(PersonalDataKey::parse("k_1:00112233445566778899aabbccddeeff").is_err());
        assert!(PersonalDataKey::parse("k1:00112233445566778899AABBCCDDEEFF").is_ok());
    }
}
