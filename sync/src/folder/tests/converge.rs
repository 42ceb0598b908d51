//! Randomized convergence (fixed seeds; a long run is `#[ignore]`d): 3–5 replicas create,
//! rename, move, delete and edit files from small pools of names (so paths collide), while
//! deltas and text versions are delivered late, out of order, twice or not at all. After every
//! step every replica's tree is checked; at the end, after anti-entropy, all replicas show the
//! same tree and no file with an edit that no delete had seen is gone.

use std::collections::BTreeMap;

use crdt_text::{ReplicaId, VersionVector};
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::super::path::split_path;
use super::super::*;

const DIRS: [&str; 4] = ["a", "b", "src", "docs"];
const FILES: [&str; 4] = ["x.md", "y.md", "notes.md", "a"];

enum Msg {
    Delta(ManifestDelta),
    Text(FileId, VersionVector),
}

struct Replica {
    manifest: Manifest,
    /// What each file's text document holds here.
    text: BTreeMap<FileId, VersionVector>,
    /// This replica's id in the text documents.
    text_replica: ReplicaId,
}

struct World {
    rng: ChaCha8Rng,
    replicas: Vec<Replica>,
    /// (recipient, message) in flight.
    net: Vec<(usize, Msg)>,
    /// Every edit made, per file.
    edits: BTreeMap<FileId, VersionVector>,
    /// The text each delete had seen, per file.
    deletes_saw: BTreeMap<FileId, VersionVector>,
    ops: usize,
    refused: usize,
}

fn random_path(rng: &mut ChaCha8Rng) -> String {
    let depth = rng.random_range(0..3);
    let mut parts: Vec<&str> = (0..depth).map(|_| *DIRS.choose(rng).unwrap()).collect();
    parts.push(FILES.choose(rng).unwrap());
    parts.join("/")
}

impl World {
    fn new(seed: u64, n: usize) -> World {
        let names = ["alice", "bob", "carol", "dave", "erin"];
        let replicas = (0..n)
            .map(|i| Replica {
                manifest: Manifest::new(ReplicaId::from(i as u64 + 1), names[i]),
                text: BTreeMap::new(),
                text_replica: ReplicaId::from(1000 + i as u64),
            })
            .collect();
        World {
            rng: ChaCha8Rng::seed_from_u64(seed),
            replicas,
            net: Vec::new(),
            edits: BTreeMap::new(),
            deletes_saw: BTreeMap::new(),
            ops: 0,
            refused: 0,
        }
    }

    fn broadcast(&mut self, from: usize, msg: impl Fn() -> Msg) {
        for to in 0..self.replicas.len() {
            if to != from {
                self.net.push((to, msg()));
            }
        }
    }

    /// One random local operation on replica `r`.
    fn act(&mut self, r: usize) {
        let files: Vec<FileId> = self.replicas[r]
            .manifest
            .tree()
            .files()
            .map(|(id, _)| id)
            .collect();
        let dirs: Vec<String> = DIRS
            .iter()
            .flat_map(|a| [a.to_string(), format!("{a}/{}", DIRS[0])])
            .filter(|d| self.replicas[r].manifest.tree().is_dir(d))
            .collect();
        let path = random_path(&mut self.rng);
        let choice = self.rng.random_range(0..10);
        let result = match choice {
            0..=2 => self.replicas[r].manifest.create(&path).map(|(_, d)| d),
            3 | 4 if !files.is_empty() => {
                let file = *files.choose(&mut self.rng).unwrap();
                self.replicas[r].manifest.rename(file, &path)
            }
            5 if !dirs.is_empty() => {
                let from = dirs.choose(&mut self.rng).unwrap();
                let to = path.trim_end_matches(".md").replace('.', "_");
                self.replicas[r].manifest.move_dir(from, &to)
            }
            6 if !files.is_empty() => {
                let file = *files.choose(&mut self.rng).unwrap();
                let saw = self.replicas[r]
                    .text
                    .get(&file)
                    .cloned()
                    .unwrap_or_default();
                self.deletes_saw.entry(file).or_default().merge(&saw);
                self.replicas[r].manifest.delete(file)
            }
            7 if !dirs.is_empty() => {
                let dir = dirs.choose(&mut self.rng).unwrap().clone();
                for file in self.replicas[r].manifest.tree().files_under(&dir) {
                    let saw = self.replicas[r]
                        .text
                        .get(&file)
                        .cloned()
                        .unwrap_or_default();
                    self.deletes_saw.entry(file).or_default().merge(&saw);
                }
                self.replicas[r].manifest.delete_dir(&dir)
            }
            _ if !files.is_empty() => {
                // Type in a file: its text document advances, and tells the manifest.
                let file = *files.choose(&mut self.rng).unwrap();
                let rep = &mut self.replicas[r];
                let text = rep.text.entry(file).or_default();
                let mine = rep.text_replica;
                text.advance(mine, text.get(mine) + self.rng.random_range(1..5));
                let version = text.clone();
                self.edits.entry(file).or_default().merge(&version);
                let _ = rep.manifest.text_changed(file, &version);
                self.broadcast(r, || Msg::Text(file, version.clone()));
                self.ops += 1;
                return;
            }
            _ => return,
        };
        match result {
            Ok(delta) => {
                self.ops += 1;
                self.broadcast(r, || Msg::Delta(delta.clone()));
            }
            Err(
                ManifestError::Exists(_)
                | ManifestError::NotAFolder(_)
                | ManifestError::IntoItself { .. },
            ) => self.refused += 1,
            Err(e) => panic!("replica {r}: unexpected refusal: {e}"),
        }
    }

    /// Delivers one message in flight: sometimes twice, sometimes lost.
    fn deliver(&mut self, lossy: bool) {
        if self.net.is_empty() {
            return;
        }
        let at = self.rng.random_range(0..self.net.len());
        let (to, msg) = if self.rng.random_bool(0.1) {
            let (to, msg) = &self.net[at];
            let copy = match msg {
                Msg::Delta(d) => Msg::Delta(d.clone()),
                Msg::Text(f, v) => Msg::Text(*f, v.clone()),
            };
            (*to, copy)
        } else {
            self.net.swap_remove(at)
        };
        if lossy && self.rng.random_bool(0.05) {
            return;
        }
        self.receive(to, msg);
    }

    fn receive(&mut self, to: usize, msg: Msg) {
        let rep = &mut self.replicas[to];
        match msg {
            Msg::Delta(d) => {
                rep.manifest.apply(&d).unwrap();
            }
            Msg::Text(file, version) => {
                let text = rep.text.entry(file).or_default();
                text.merge(&version);
                let all = text.clone();
                let _ = rep.manifest.text_changed(file, &all);
            }
        }
    }

    /// Anti-entropy: every replica gets every other's whole state and texts.
    fn heal(&mut self) {
        while !self.net.is_empty() {
            let (to, msg) = self.net.swap_remove(0);
            self.receive(to, msg);
        }
        let states: Vec<ManifestDelta> = self
            .replicas
            .iter()
            .map(|r| r.manifest.state().clone())
            .collect();
        for to in 0..self.replicas.len() {
            for state in &states {
                self.receive(to, Msg::Delta(state.clone()));
            }
            for (file, version) in self.edits.clone() {
                self.receive(to, Msg::Text(file, version));
            }
        }
    }

    fn check(&self, step: usize) {
        for (r, rep) in self.replicas.iter().enumerate() {
            check_tree(&rep.manifest, &rep.text)
                .unwrap_or_else(|e| panic!("step {step}, replica {r}: {e}"));
        }
    }
}

/// What must hold of any replica's tree at any time.
fn check_tree(m: &Manifest, text: &BTreeMap<FileId, VersionVector>) -> Result<(), String> {
    let tree = m.tree();
    let paths: Vec<&str> = tree.paths().collect();
    if paths.len() != tree.len() {
        return Err(format!("{} files but {} paths", tree.len(), paths.len()));
    }
    for (id, shown) in tree.files() {
        split_path(&shown.path).map_err(|e| format!("{id:?}: {e}"))?;
        if tree.file_at(&shown.path) != Some(id) {
            return Err(format!("{id:?} at {:?} is not found there", shown.path));
        }
        if let Some(other) = tree.files_under(&shown.path).first() {
            return Err(format!(
                "file {:?} is also a folder ({other:?})",
                shown.path
            ));
        }
    }
    // A file with an edit no delete had seen, or a placement no delete observed, is shown.
    for (id, entry) in &m.state().files {
        let saw = text.get(id).cloned().unwrap_or_default();
        let live = entry.keep.iter().any(|s| !entry.gone.contains(s))
            || !entry.deleted_text.includes(&saw);
        if live && entry.author.is_some() && tree.path(*id).is_none() {
            return Err(format!("{id:?} should live: {entry:?}"));
        }
    }
    Ok(())
}

fn run(seed: u64, replicas: usize, steps: usize) -> World {
    let mut world = World::new(seed, replicas);
    for step in 0..steps {
        if world.rng.random_bool(0.4) {
            let r = world.rng.random_range(0..replicas);
            world.act(r);
        } else {
            world.deliver(true);
        }
        world.check(step);
        if step % 97 == 0 {
            for rep in &world.replicas {
                let state = rep.manifest.state();
                assert_eq!(&ManifestDelta::decode(&state.encode()).unwrap(), state);
            }
        }
    }
    world.heal();
    world.check(steps);

    let first = &world.replicas[0].manifest;
    for (r, rep) in world.replicas.iter().enumerate().skip(1) {
        assert_eq!(
            rep.manifest.state(),
            first.state(),
            "seed {seed}: state of {r}"
        );
        let a: Vec<_> = rep.manifest.tree().files().collect();
        let b: Vec<_> = first.tree().files().collect();
        assert_eq!(a, b, "seed {seed}: tree of replica {r}");
    }
    // Nothing typed is lost: a file with an edit that no delete had seen is still there.
    let empty = VersionVector::new();
    for (file, typed) in &world.edits {
        let saw = world.deletes_saw.get(file).unwrap_or(&empty);
        if !saw.includes(typed) {
            assert!(
                first.tree().path(*file).is_some(),
                "seed {seed}: {file:?} lost"
            );
        }
    }
    // A file nobody deleted is there.
    for id in first.state().files.keys() {
        if !world.deletes_saw.contains_key(id) {
            assert!(
                first.tree().path(*id).is_some(),
                "seed {seed}: {id:?} vanished"
            );
        }
    }
    world
}

#[test]
fn replicas_converge_whatever_the_delivery() {
    let mut kept_by_edit = 0;
    let mut conflicts = 0;
    for (seed, replicas) in [(1, 3), (2, 4), (3, 5), (4, 3), (5, 5)] {
        let world = run(seed, replicas, 1500);
        let tree = world.replicas[0].manifest.tree();
        kept_by_edit += tree.files().filter(|(_, s)| s.kept_by_edit).count();
        conflicts += tree.files().filter(|(_, s)| s.path != s.wanted).count();
        assert!(
            world.ops > 300 && world.refused > 0,
            "seed {seed}: {} ops",
            world.ops
        );
    }
    // The interesting cases happened.
    assert!(
        kept_by_edit > 0 && conflicts > 0,
        "{kept_by_edit} {conflicts}"
    );
}

#[test]
#[ignore = "long run: cargo test -p duet-sync folder -- --ignored"]
fn replicas_converge_whatever_the_delivery_long_run() {
    for seed in 100..200 {
        run(seed, 3 + (seed % 3) as usize, 3000);
    }
}
