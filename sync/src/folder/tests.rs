//! The manifest's semantics, case by case: two or three peers, what each does while apart,
//! and the tree every one of them shows once they have exchanged everything.

mod converge;
mod log_sim;
mod scan;
mod summary;

use crdt_text::{Doc, ReplicaId};

use super::*;

fn peer(n: u64, name: &str) -> Manifest {
    Manifest::new(ReplicaId::from(n), name)
}

/// The paths `m` shows, sorted.
fn tree(m: &Manifest) -> Vec<&str> {
    m.tree().paths().collect()
}

/// Sends `b` everything `a` has, and back.
fn sync(a: &mut Manifest, b: &mut Manifest) {
    let (sa, sb) = (a.state().clone(), b.state().clone());
    a.apply(&sb).unwrap();
    b.apply(&sa).unwrap();
}

#[test]
fn a_created_file_appears_on_the_peer_with_its_folders() {
    let mut alice = peer(1, "alice");
    let mut bob = peer(2, "bob");
    let (id, delta) = alice.create("docs/notes.md").unwrap();
    assert_eq!(
        bob.apply(&delta).unwrap(),
        [Outcome::Appeared {
            file: id,
            path: "docs/notes.md".into()
        }]
    );
    assert_eq!(tree(&bob), ["docs/notes.md"]);
    assert!(bob.tree().is_dir("docs"));
}

#[test]
fn a_rename_keeps_the_file_id_so_the_history_follows() {
    let mut alice = peer(1, "alice");
    let mut bob = peer(2, "bob");
    let (id, created) = alice.create("notes.md").unwrap();
    bob.apply(&created).unwrap();

    let renamed = alice.rename(id, "archive/2024 notes.md").unwrap();
    assert_eq!(
        bob.apply(&renamed).unwrap(),
        [Outcome::Moved {
            file: id,
            from: "notes.md".into(),
            to: "archive/2024 notes.md".into()
        }]
    );
    assert_eq!(bob.tree().file_at("archive/2024 notes.md"), Some(id));
    assert_eq!(tree(&bob), ["archive/2024 notes.md"]);
}

#[test]
fn concurrent_renames_of_one_file_end_with_one_name_everywhere() {
    let mut alice = peer(1, "alice");
    let mut bob = peer(2, "bob");
    let (id, created) = alice.create("draft.md").unwrap();
    bob.apply(&created).unwrap();

    // Apart: alice calls it plan.md, bob calls it ideas.md.
    let to_plan = alice.rename(id, "plan.md").unwrap();
    let to_ideas = bob.rename(id, "ideas.md").unwrap();
    alice.apply(&to_ideas).unwrap();
    bob.apply(&to_plan).unwrap();

    // Equal Lamport clocks: the larger replica id (bob) wins, on both.
    assert_eq!(tree(&alice), ["ideas.md"]);
    assert_eq!(tree(&bob), tree(&alice));
    assert_eq!(alice.state(), bob.state());
}

#[test]
fn a_later_rename_beats_an_earlier_one_whatever_the_arrival_order() {
    let mut alice = peer(9, "alice");
    let mut bob = peer(2, "bob");
    let (id, created) = alice.create("a.md").unwrap();
    bob.apply(&created).unwrap();
    let first = bob.rename(id, "b.md").unwrap();
    alice.apply(&first).unwrap();
    let second = alice.rename(id, "c.md").unwrap(); // alice had seen b.md: hers is later

    let mut carol = peer(3, "carol");
    for delta in [&second, &first, &created, &second] {
        carol.apply(delta).unwrap();
    }
    assert_eq!(tree(&carol), ["c.md"]);
}

#[test]
fn two_peers_creating_one_path_both_keep_their_text_and_are_told() {
    let mut alice = peer(1, "alice");
    let mut bob = peer(2, "bob");
    let (hers, from_alice) = alice.create("notes.md").unwrap();
    let (his, from_bob) = bob.create("notes.md").unwrap();

    // Alice's file has the smaller id and keeps the path; bob's is tagged with his name.
    assert_eq!(
        alice.apply(&from_bob).unwrap(),
        [
            Outcome::Appeared {
                file: his,
                path: "notes (bob).md".into()
            },
            Outcome::NameTaken {
                file: his,
                wanted: "notes.md".into(),
                path: "notes (bob).md".into()
            },
        ]
    );
    // Bob sees his own file move aside.
    assert_eq!(
        bob.apply(&from_alice).unwrap(),
        [
            Outcome::Appeared {
                file: hers,
                path: "notes.md".into()
            },
            Outcome::Moved {
                file: his,
                from: "notes.md".into(),
                to: "notes (bob).md".into()
            },
            Outcome::NameTaken {
                file: his,
                wanted: "notes.md".into(),
                path: "notes (bob).md".into()
            },
        ]
    );
    assert_eq!(tree(&alice), ["notes (bob).md", "notes.md"]);
    assert_eq!(tree(&bob), tree(&alice));
}

#[test]
fn three_files_at_one_path_get_distinct_names() {
    let mut peers = [peer(1, "alice"), peer(2, "bob"), peer(3, "bob")];
    let deltas: Vec<ManifestDelta> = peers
        .iter_mut()
        .map(|p| p.create("todo.txt").unwrap().1)
        .collect();
    for p in &mut peers {
        for d in &deltas {
            p.apply(d).unwrap();
        }
    }
    assert_eq!(
        tree(&peers[0]),
        ["todo (bob 2).txt", "todo (bob).txt", "todo.txt"]
    );
    assert_eq!(tree(&peers[2]), tree(&peers[0]));
}

#[test]
fn a_file_and_a_folder_created_at_one_path_both_stay() {
    let mut alice = peer(1, "alice");
    let mut bob = peer(2, "bob");
    let _ = alice.create("docs").unwrap();
    let _ = bob.create("docs/a.md").unwrap();
    sync(&mut alice, &mut bob);
    // The folder keeps its path (its files are under it); the file yields.
    assert_eq!(tree(&alice), ["docs (alice)", "docs/a.md"]);
    assert_eq!(tree(&bob), tree(&alice));
}

#[test]
fn a_delete_concurrent_with_an_edit_keeps_the_file_and_the_edit() {
    let mut alice = peer(1, "alice");
    let mut bob = peer(2, "bob");
    let (id, created) = alice.create("notes.md").unwrap();
    bob.apply(&created).unwrap();
    // The file's text document, one replica on each side; both have "hello".
    let mut alice_text = Doc::new(ReplicaId::from(101));
    let typed = alice_text.insert(0, "hello");
    let mut bob_text = Doc::new(ReplicaId::from(102));
    bob_text.apply(&typed).unwrap();
    let _ = alice.text_changed(id, &alice_text.version());
    let _ = bob.text_changed(id, &bob_text.version());

    // Apart: alice deletes the file, bob types in it.
    let deleted = alice.delete(id).unwrap();
    assert_eq!(tree(&alice), Vec::<&str>::new());
    let edit = bob_text.insert(5, " world");
    let _ = bob.text_changed(id, &bob_text.version());

    // Bob receives the delete: it had not seen his edit, so the file stays, and he is told.
    assert_eq!(
        bob.apply(&deleted).unwrap(),
        [Outcome::KeptAfterDelete {
            file: id,
            path: "notes.md".into()
        }]
    );
    // Alice receives bob's edit (through the text document): the file comes back.
    alice_text.apply(&edit).unwrap();
    let back = alice.text_changed(id, &alice_text.version());
    assert_eq!(
        back,
        [
            Outcome::Appeared {
                file: id,
                path: "notes.md".into()
            },
            Outcome::KeptAfterDelete {
                file: id,
                path: "notes.md".into()
            },
        ]
    );
    assert_eq!(alice_text.text(), "hello world");
    assert_eq!(tree(&alice), ["notes.md"]);
    assert_eq!(tree(&bob), tree(&alice));
}

#[test]
fn a_delete_that_saw_every_edit_removes_the_file_everywhere() {
    let mut alice = peer(1, "alice");
    let mut bob = peer(2, "bob");
    let (id, created) = alice.create("old.md").unwrap();
    bob.apply(&created).unwrap();
    let mut text = Doc::new(ReplicaId::from(101));
    let _ = text.insert(0, "obsolete");
    let _ = alice.text_changed(id, &text.version());
    let _ = bob.text_changed(id, &text.version());

    let deleted = bob.delete(id).unwrap();
    assert_eq!(
        alice.apply(&deleted).unwrap(),
        [Outcome::Removed {
            file: id,
            path: "old.md".into()
        }]
    );
    assert!(alice.tree().is_empty() && bob.tree().is_empty());
    assert!(matches!(alice.delete(id), Err(ManifestError::NoFile(_))));
}

#[test]
fn a_rename_concurrent_with_a_delete_keeps_the_file_at_its_new_name() {
    let mut alice = peer(1, "alice");
    let mut bob = peer(2, "bob");
    let (id, created) = alice.create("a.md").unwrap();
    bob.apply(&created).unwrap();
    let deleted = alice.delete(id).unwrap();
    let renamed = bob.rename(id, "b.md").unwrap();
    alice.apply(&renamed).unwrap();
    bob.apply(&deleted).unwrap();
    assert_eq!(tree(&alice), ["b.md"]);
    assert_eq!(tree(&bob), ["b.md"]);
}

#[test]
fn moving_a_folder_moves_its_files_even_those_created_meanwhile() {
    let mut alice = peer(1, "alice");
    let mut bob = peer(2, "bob");
    let (_, d1) = alice.create("docs/a.md").unwrap();
    let (_, d2) = alice.create("docs/deep/b.md").unwrap();
    bob.apply(&d1).unwrap();
    bob.apply(&d2).unwrap();

    // Apart: alice moves docs/ into notes/, bob writes a new file in docs/deep/.
    let moved = alice.move_dir("docs", "notes/docs").unwrap();
    let (_, new_file) = bob.create("docs/deep/c.md").unwrap();
    alice.apply(&new_file).unwrap();
    bob.apply(&moved).unwrap();

    let want = [
        "notes/docs/a.md",
        "notes/docs/deep/b.md",
        "notes/docs/deep/c.md",
    ];
    assert_eq!(tree(&alice), want);
    assert_eq!(tree(&bob), want);
    assert!(!alice.tree().is_dir("docs"));
}

#[test]
fn folders_created_at_one_path_concurrently_show_and_move_as_one() {
    let mut alice = peer(1, "alice");
    let mut bob = peer(2, "bob");
    let _ = alice.create("src/a.rs").unwrap();
    let _ = bob.create("src/b.rs").unwrap();
    sync(&mut alice, &mut bob);
    assert_eq!(tree(&alice), ["src/a.rs", "src/b.rs"]);
    assert_eq!(alice.tree().dirs_at("src").len(), 2);

    let moved = bob.move_dir("src", "lib").unwrap();
    alice.apply(&moved).unwrap();
    assert_eq!(tree(&alice), ["lib/a.rs", "lib/b.rs"]);
}

#[test]
fn folders_moved_into_each_other_concurrently_end_as_one_tree() {
    let mut alice = peer(1, "alice");
    let mut bob = peer(2, "bob");
    let (_, d1) = alice.create("a/x.md").unwrap();
    let (_, d2) = alice.create("b/y.md").unwrap();
    bob.apply(&d1).unwrap();
    bob.apply(&d2).unwrap();

    // Apart: alice moves a/ into b/, bob moves b/ into a/.
    let a_into_b = alice.move_dir("a", "b/a").unwrap();
    let b_into_a = bob.move_dir("b", "a/b").unwrap();
    alice.apply(&b_into_a).unwrap();
    bob.apply(&a_into_b).unwrap();

    // The cycle breaks at the move with the greater stamp (bob's: equal clocks, larger
    // replica): b goes back to the root under its name, a stays inside it.
    assert_eq!(tree(&alice), ["b/a/x.md", "b/y.md"]);
    assert_eq!(tree(&bob), tree(&alice));
}

#[test]
fn deleting_a_folder_spares_a_file_created_in_it_meanwhile() {
    let mut alice = peer(1, "alice");
    let mut bob = peer(2, "bob");
    let (_, d1) = alice.create("tmp/a.log").unwrap();
    bob.apply(&d1).unwrap();
    let deleted = alice.delete_dir("tmp").unwrap();
    let (_, fresh) = bob.create("tmp/b.log").unwrap();
    alice.apply(&fresh).unwrap();
    bob.apply(&deleted).unwrap();
    assert_eq!(tree(&alice), ["tmp/b.log"]);
    assert_eq!(tree(&bob), ["tmp/b.log"]);
}

#[test]
fn local_operations_that_make_no_sense_are_refused_and_change_nothing() {
    let mut alice = peer(1, "alice");
    let (id, _) = alice.create("docs/a.md").unwrap();
    let before = alice.state().clone();
    assert_eq!(
        alice.create("docs/a.md").unwrap_err(),
        ManifestError::Exists("docs/a.md".into())
    );
    assert_eq!(
        alice.create("docs").unwrap_err(),
        ManifestError::Exists("docs".into())
    );
    assert_eq!(
        alice.create("docs/a.md/b.md").unwrap_err(),
        ManifestError::NotAFolder("docs/a.md".into())
    );
    assert!(matches!(
        alice.rename(id, "../escape.md"),
        Err(ManifestError::Path(path::PathError::Dots { .. }))
    ));
    assert!(matches!(
        alice.create(".git/hooks/post-checkout"),
        Err(ManifestError::Path(path::PathError::Reserved { .. }))
    ));
    assert_eq!(
        alice.move_dir("docs", "docs/inner").unwrap_err(),
        ManifestError::IntoItself {
            from: "docs".into(),
            to: "docs/inner".into()
        }
    );
    assert_eq!(
        alice.move_dir("nope", "x").unwrap_err(),
        ManifestError::NoFolder("nope".into())
    );
    assert_eq!(alice.state(), &before);
}

#[test]
fn a_delta_with_a_bad_name_is_refused_whole() {
    let mut alice = peer(1, "alice");
    let mut bob = peer(2, "bob");
    let (_, mut delta) = alice.create("ok.md").unwrap();
    let (_, bad) = alice.create("bad.md").unwrap();
    delta.merge(&bad);
    let entry = delta.files.values_mut().last().unwrap();
    entry.place.as_mut().unwrap().value.name = "a/../../etc".into();
    assert!(bob.apply(&delta).is_err());
    assert!(bob.tree().is_empty() && bob.state().is_empty());
}

#[test]
fn a_replica_restored_from_its_state_stamps_after_everything_it_held() {
    let mut alice = peer(1, "alice");
    let (id, _) = alice.create("a.md").unwrap();
    let _ = alice.rename(id, "b.md").unwrap();
    let mut again = Manifest::from_state(ReplicaId::from(1), "alice", alice.state().clone());
    assert_eq!(tree(&again), ["b.md"]);
    let (newer, _) = again.create("c.md").unwrap();
    assert!(newer.0 > id.0 && alice.state().files.keys().all(|f| f.0 < newer.0));
}
