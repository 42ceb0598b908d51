//! The proof in a [`Join`](super::Join): a blake3 keyed hash of the connection's parameters
//! under the document secret (see `PROTOCOL.md`).

use crate::ids::{DocId, PeerId};

/// Domain separation for the proof (bump with any change to its inputs).
const CONTEXT: &[u8] = b"duet-join-v3";

/// Which side of the connection computes a proof. Bound into the proof so that a dialer's
/// proof can never be reflected back as an acceptor's (or the reverse).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum Role {
    /// Opened the connection.
    Dialer,
    /// Accepted it.
    Acceptor,
}

/// The parameters of one side's proof.
pub(crate) struct ProofInput<'a> {
    pub secret: &'a [u8; 32],
    pub doc: &'a DocId,
    pub role: Role,
    pub own_key: &'a PeerId,
    pub other_key: &'a PeerId,
    pub own_nonce: &'a [u8; 32],
    pub other_nonce: &'a [u8; 32],
}

impl ProofInput<'_> {
    /// The keyed hash.
    fn hash(&self) -> blake3::Hash {
        let mut h = blake3::Hasher::new_keyed(self.secret);
        h.update(CONTEXT);
        h.update(match self.role {
            Role::Dialer => b"D",
            Role::Acceptor => b"A",
        });
        h.update(self.doc.as_bytes());
        h.update(self.own_key.as_bytes());
        h.update(self.other_key.as_bytes());
        h.update(self.own_nonce);
        h.update(self.other_nonce);
        h.finalize()
    }

    /// The proof bytes to send.
    pub fn mac(&self) -> [u8; 32] {
        *self.hash().as_bytes()
    }

    /// Whether `mac` is the proof for these parameters (constant-time comparison).
    pub fn verify(&self, mac: &[u8; 32]) -> bool {
        self.hash() == blake3::Hash::from_bytes(*mac)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: DocId = DocId([9; 32]);

    fn input<'a>(secret: &'a [u8; 32], role: Role, a: &'a PeerId, b: &'a PeerId) -> ProofInput<'a> {
        ProofInput {
            secret,
            doc: &DOC,
            role,
            own_key: a,
            other_key: b,
            own_nonce: &a.0,
            other_nonce: &b.0,
        }
    }

    #[test]
    fn a_proof_verifies_only_with_the_same_secret_role_and_parameters() {
        let (s, a, b) = ([1; 32], PeerId([2; 32]), PeerId([3; 32]));
        let mac = input(&s, Role::Dialer, &a, &b).mac();
        assert!(input(&s, Role::Dialer, &a, &b).verify(&mac));
        assert!(
            !input(&[4; 32], Role::Dialer, &a, &b).verify(&mac),
            "wrong secret"
        );
        assert!(
            !input(&s, Role::Acceptor, &a, &b).verify(&mac),
            "reflected role"
        );
        assert!(
            !input(&s, Role::Dialer, &b, &a).verify(&mac),
            "swapped keys"
        );
    }
}
