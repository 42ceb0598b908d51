//! What every figure is measured against: crdt-text itself, Diamond Types 1.0, cola 0.1 (with
//! a jumprope buffer holding the text it does not store), and two floors that are no CRDT at
//! all: a ropey `Rope` and a `JumpRope`.

use crdt_text::{Doc, Op, ReplicaId};
use serde::{Deserialize, Serialize};

/// The patches of a sequential trace, per transaction: `(pos, deleted, inserted)`.
pub type Txns = Vec<Vec<(usize, usize, String)>>;

/// One document implementation, driven the same way for every figure.
pub trait Contender {
    const NAME: &'static str;
    type State;
    type Loaded;
    /// Every patch as a local edit into a fresh document, the whole trace `repeat` times in a
    /// row (each repetition appended after the previous one's text).
    fn local(txns: &Txns, repeat: usize) -> Self::State;
    /// What a fresh peer is sent to load the document (its history, for the CRDTs).
    fn encode(state: &Self::State) -> Vec<u8>;
    /// Loads what `encode` made, ready to edit.
    fn decode(bytes: &[u8]) -> Self::Loaded;
    fn text(state: &Self::State) -> String;
    fn loaded_text(loaded: &Self::Loaded) -> String;
}

/// Calls `edit(pos, del, ins)` for every patch, `repeat` times, shifted past the text of the
/// previous repetitions (`len()` is the current length).
fn replay<D>(
    doc: &mut D,
    txns: &Txns,
    repeat: usize,
    len: impl Fn(&D) -> usize,
    mut edit: impl FnMut(&mut D, usize, usize, &str),
) {
    for _ in 0..repeat {
        let base = len(doc);
        for txn in txns {
            for (pos, del, ins) in txn {
                edit(doc, base + pos, *del, ins);
            }
        }
    }
}

pub struct Duet;

impl Contender for Duet {
    const NAME: &'static str = "crdt-text";
    type State = Doc;
    type Loaded = Doc;
    fn local(txns: &Txns, repeat: usize) -> Doc {
        let mut doc = Doc::new(ReplicaId::from(1));
        replay(&mut doc, txns, repeat, Doc::len, |d, pos, del, ins| {
            if del > 0 {
                let _ = d.delete(pos, del);
            }
            if !ins.is_empty() {
                let _ = d.insert(pos, ins);
            }
        });
        doc
    }
    fn encode(doc: &Doc) -> Vec<u8> {
        doc.encode()
    }
    fn decode(bytes: &[u8]) -> Doc {
        Doc::decode(bytes, ReplicaId::from(3)).expect("decode")
    }
    fn text(doc: &Doc) -> String {
        doc.text()
    }
    fn loaded_text(doc: &Doc) -> String {
        doc.text()
    }
}

pub struct Dt;

impl Contender for Dt {
    const NAME: &'static str = "Diamond Types";
    type State = diamond_types::list::ListCRDT;
    type Loaded = diamond_types::list::ListCRDT;
    fn local(txns: &Txns, repeat: usize) -> Self::State {
        use diamond_types::list::{ListCRDT, operation::Operation};
        let mut doc = ListCRDT::new();
        let agent = doc.get_or_create_agent_id("a");
        let mut ops = Vec::with_capacity(2);
        replay(&mut doc, txns, repeat, ListCRDT::len, |d, pos, del, ins| {
            ops.clear();
            if del > 0 {
                ops.push(Operation::new_delete(pos..pos + del));
            }
            if !ins.is_empty() {
                ops.push(Operation::new_insert(pos, ins));
            }
            d.apply_local_operations(agent, &ops);
        });
        doc
    }
    fn encode(doc: &Self::State) -> Vec<u8> {
        doc.oplog.encode(diamond_types::list::encoding::ENCODE_FULL)
    }
    fn decode(bytes: &[u8]) -> Self::Loaded {
        diamond_types::list::ListCRDT::load_from(bytes).expect("decode")
    }
    fn text(doc: &Self::State) -> String {
        doc.branch.content().to_string()
    }
    fn loaded_text(doc: &Self::Loaded) -> String {
        doc.branch.content().to_string()
    }
}

/// A cola replica with the buffer an editor would keep beside it.
pub struct ColaDoc {
    pub replica: cola::Replica,
    pub text: jumprope::JumpRope,
}

/// A cola edit as it travels: cola's insertions carry no text, so it goes along.
#[derive(Serialize, Deserialize)]
pub enum ColaOp {
    Insert(cola::Insertion, String),
    Delete(cola::Deletion),
}

impl ColaDoc {
    /// Replica `id` of the one empty document every cola replica here shares (cola replicas
    /// of one document are forks of a common one).
    pub fn new(id: u64) -> ColaDoc {
        ColaDoc {
            replica: cola::Replica::new(u64::MAX, 0).fork(id),
            text: jumprope::JumpRope::new(),
        }
    }

    pub fn edit(&mut self, pos: usize, del: usize, ins: &str, out: &mut Vec<ColaOp>) {
        if del > 0 {
            out.push(ColaOp::Delete(self.replica.deleted(pos..pos + del)));
            self.text.remove(pos..pos + del);
        }
        if !ins.is_empty() {
            let n = ins.chars().count();
            out.push(ColaOp::Insert(
                self.replica.inserted(pos, n),
                ins.to_owned(),
            ));
            self.text.insert(pos, ins);
        }
    }

    pub fn apply(&mut self, op: &ColaOp) {
        match op {
            ColaOp::Insert(ins, text) => {
                if let Some(at) = self.replica.integrate_insertion(ins) {
                    self.text.insert(at, text);
                }
            }
            ColaOp::Delete(del) => {
                // Ranges in the text before the deletion: remove from the end.
                for range in self.replica.integrate_deletion(del).into_iter().rev() {
                    self.text.remove(range);
                }
            }
        }
    }
}

pub struct Cola;

impl Contender for Cola {
    const NAME: &'static str = "cola";
    type State = ColaDoc;
    type Loaded = ColaDoc;
    fn local(txns: &Txns, repeat: usize) -> ColaDoc {
        let mut doc = ColaDoc::new(1);
        let mut out = Vec::with_capacity(2);
        replay(
            &mut doc,
            txns,
            repeat,
            |d| d.text.len_chars(),
            |d, pos, del, ins| {
                out.clear();
                d.edit(pos, del, ins, &mut out);
            },
        );
        doc
    }
    fn encode(doc: &ColaDoc) -> Vec<u8> {
        postcard::to_allocvec(&(doc.replica.encode(), doc.text.to_string())).expect("encode")
    }
    fn decode(bytes: &[u8]) -> ColaDoc {
        let (encoded, text): (cola::EncodedReplica, String) =
            postcard::from_bytes(bytes).expect("decode");
        ColaDoc {
            replica: cola::Replica::decode(3, &encoded).expect("decode"),
            text: jumprope::JumpRope::from(text),
        }
    }
    fn text(doc: &ColaDoc) -> String {
        doc.text.to_string()
    }
    fn loaded_text(doc: &ColaDoc) -> String {
        doc.text.to_string()
    }
}

/// The rope floor: the text alone, in a ropey `Rope`; encoded as the plain text.
pub struct Ropey;

impl Contender for Ropey {
    const NAME: &'static str = "ropey";
    type State = ropey::Rope;
    type Loaded = ropey::Rope;
    fn local(txns: &Txns, repeat: usize) -> ropey::Rope {
        let mut rope = ropey::Rope::new();
        replay(
            &mut rope,
            txns,
            repeat,
            ropey::Rope::len_chars,
            |r, pos, del, ins| {
                if del > 0 {
                    r.remove(pos..pos + del);
                }
                if !ins.is_empty() {
                    r.insert(pos, ins);
                }
            },
        );
        rope
    }
    fn encode(rope: &ropey::Rope) -> Vec<u8> {
        rope.to_string().into_bytes()
    }
    fn decode(bytes: &[u8]) -> ropey::Rope {
        ropey::Rope::from_str(std::str::from_utf8(bytes).expect("utf-8"))
    }
    fn text(rope: &ropey::Rope) -> String {
        rope.to_string()
    }
    fn loaded_text(rope: &ropey::Rope) -> String {
        rope.to_string()
    }
}

/// The fast floor: the text alone, in a `JumpRope` (a skip-list rope); encoded as the text.
pub struct Jump;

impl Contender for Jump {
    const NAME: &'static str = "jumprope";
    type State = jumprope::JumpRope;
    type Loaded = jumprope::JumpRope;
    fn local(txns: &Txns, repeat: usize) -> jumprope::JumpRope {
        let mut rope = jumprope::JumpRope::new();
        replay(
            &mut rope,
            txns,
            repeat,
            jumprope::JumpRope::len_chars,
            |r, pos, del, ins| {
                if del > 0 {
                    r.remove(pos..pos + del);
                }
                if !ins.is_empty() {
                    r.insert(pos, ins);
                }
            },
        );
        rope
    }
    fn encode(rope: &jumprope::JumpRope) -> Vec<u8> {
        rope.to_string().into_bytes()
    }
    fn decode(bytes: &[u8]) -> jumprope::JumpRope {
        jumprope::JumpRope::from(std::str::from_utf8(bytes).expect("utf-8"))
    }
    fn text(rope: &jumprope::JumpRope) -> String {
        rope.to_string()
    }
    fn loaded_text(rope: &jumprope::JumpRope) -> String {
        rope.to_string()
    }
}

/// crdt-text for the concurrent replay: each op one postcard message (`common::Replica` for
/// `Doc`); cola the same way.
impl crate::common::Replica for ColaDoc {
    fn edit(&mut self, pos: usize, del: usize, ins: &str, out: &mut Vec<Vec<u8>>) {
        let mut ops = Vec::with_capacity(2);
        ColaDoc::edit(self, pos, del, ins, &mut ops);
        out.extend(
            ops.iter()
                .map(|op| postcard::to_allocvec(op).expect("encode")),
        );
    }
    fn receive(&mut self, msg: &[u8]) {
        let op: ColaOp = postcard::from_bytes(msg).expect("decode");
        self.apply(&op);
    }
}

/// One message per transaction from a source replica, for each peer: crdt-text's ops, Diamond
/// Types' patches (`encode_from` the previous version) and cola's edits.
pub fn messages(txns: &Txns) -> [Vec<Vec<u8>>; 3] {
    let mut doc = Doc::new(ReplicaId::from(1));
    let ours = txns
        .iter()
        .map(|txn| {
            let mut ops: Vec<Op> = Vec::with_capacity(txn.len());
            for (pos, del, ins) in txn {
                if *del > 0 {
                    ops.push(doc.delete(*pos, *del));
                }
                if !ins.is_empty() {
                    ops.push(doc.insert(*pos, ins));
                }
            }
            postcard::to_allocvec(&ops).expect("encode")
        })
        .collect();
    let mut dt = diamond_types::list::ListCRDT::new();
    let agent = dt.get_or_create_agent_id("a");
    let theirs = txns
        .iter()
        .map(|txn| {
            let before = dt.oplog.local_version();
            for (pos, del, ins) in txn {
                if *del > 0 {
                    dt.delete_without_content(agent, *pos..pos + del);
                }
                if !ins.is_empty() {
                    dt.insert(agent, *pos, ins);
                }
            }
            dt.oplog
                .encode_from(diamond_types::list::encoding::ENCODE_PATCH, &before)
        })
        .collect();
    let mut cola = ColaDoc::new(1);
    let colas = txns
        .iter()
        .map(|txn| {
            let mut ops = Vec::with_capacity(txn.len());
            for (pos, del, ins) in txn {
                cola.edit(*pos, *del, ins, &mut ops);
            }
            postcard::to_allocvec(&ops).expect("encode")
        })
        .collect();
    [ours, theirs, colas]
}

/// A fresh replica receiving one message per transaction: decode it, apply its ops.
pub fn remote_duet(msgs: &[Vec<u8>]) -> Doc {
    let mut doc = Doc::new(ReplicaId::from(2));
    for m in msgs {
        let ops: Vec<Op> = postcard::from_bytes(m).expect("decode");
        for op in &ops {
            doc.apply(op).expect("apply");
        }
    }
    doc
}

pub fn remote_dt(msgs: &[Vec<u8>]) -> diamond_types::list::ListCRDT {
    let mut doc = diamond_types::list::ListCRDT::new();
    for m in msgs {
        doc.merge_data_and_ff(m).expect("merge");
    }
    doc
}

pub fn remote_cola(msgs: &[Vec<u8>]) -> ColaDoc {
    let mut doc = ColaDoc::new(2);
    for m in msgs {
        let ops: Vec<ColaOp> = postcard::from_bytes(m).expect("decode");
        for op in &ops {
            doc.apply(op);
        }
    }
    doc
}
