//! The Merkle tree and signed-note code against published test vectors: the RFC 6962 tree of
//! transparency-dev/merkle (`testonly/constants.go`, `proof/verify_test.go`) and the signed note
//! of golang.org/x/mod/sumdb/note's documentation. Ed25519 is deterministic, so signing the same
//! text with the same key must give the published signature byte for byte.

use lodestone_registry::merkle::{self, CompactRange, Hash, ProofError};
use lodestone_registry::note::{Checkpoint, NoteSigner, NoteVerifier};

fn h(s: &str) -> Hash {
    Hash::from_hex(s).unwrap()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn leaves() -> Vec<Hash> {
    [
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    ]
    .iter()
    .map(|s| merkle::leaf_hash(&unhex(s)))
    .collect()
}

/// Tree heads by size 1..=8.
const ROOTS: [&str; 8] = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
];

/// (leaf number counted from 1, tree size, audit path).
fn inclusion_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            3,
            3,
            vec![h(
                "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
            )],
        ),
        (
            2,
            5,
            vec![
                h("6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
    ]
}

/// (old size, new size, proof).
fn consistency_vectors() -> Vec<(u64, u64, Vec<Hash>)> {
    vec![
        (1, 1, vec![]),
        (
            1,
            8,
            vec![
                h("96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7"),
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"),
            ],
        ),
        (
            6,
            8,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
        (
            2,
            5,
            vec![
                h("5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e"),
                h("bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"),
            ],
        ),
        (
            6,
            7,
            vec![
                h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
                h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
                h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            ],
        ),
    ]
}

#[test]
fn tree_heads_match_the_published_roots() {
    let leaves = leaves();
    assert_eq!(
        merkle::root(&[]).to_hex(),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let mut compact = CompactRange::new();
    assert_eq!(compact.root(), merkle::empty_root());
    for (n, want) in ROOTS.iter().enumerate() {
        assert_eq!(merkle::root(&leaves[..n + 1]), h(want), "size {}", n + 1);
        compact.push(leaves[n]);
        assert_eq!(compact.root(), h(want), "compact range at size {}", n + 1);
    }
    // The compact range of 7 leaves holds the subtrees of 4, 2 and 1 leaves.
    let mut seven = CompactRange::new();
    leaves[..7].iter().for_each(|l| seven.push(*l));
    assert_eq!(
        seven.heads(),
        &[
            h("d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"),
            h("0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a"),
            h("b08693ec2e721597130641e8211e7eedccb4c26413963eee6c1e2ed16ffb1a5f"),
        ]
    );
}

#[test]
fn inclusion_proofs_are_generated_and_verified_as_published() {
    let leaves = leaves();
    for (leaf, size, proof) in inclusion_vectors() {
        let (i, n) = (leaf - 1, size as usize);
        assert_eq!(
            merkle::inclusion_proof(&leaves[..n], i as usize).unwrap(),
            proof
        );
        let root = h(ROOTS[n - 1]);
        merkle::verify_inclusion(i, size, &leaves[i as usize], &proof, &root).unwrap();
        // Corrupted probes, as in transparency-dev's verifier tests: none may verify.
        let some = h("abacaba000000000000000000000000000000000000000000060061e00123456");
        let mut probes: Vec<(u64, u64, Hash, Vec<Hash>, Hash)> = vec![
            (
                i.wrapping_sub(1),
                size,
                leaves[i as usize],
                proof.clone(),
                root,
            ),
            (i + 1, size, leaves[i as usize], proof.clone(), root),
            (i ^ 2, size, leaves[i as usize], proof.clone(), root),
            (i, size * 2, leaves[i as usize], proof.clone(), root),
            (i, size / 2, leaves[i as usize], proof.clone(), root),
            (
                i,
                size,
                merkle::leaf_hash(b"WrongLeaf"),
                proof.clone(),
                root,
            ),
            (
                i,
                size,
                leaves[i as usize],
                proof.clone(),
                merkle::empty_root(),
            ),
            (i, size, leaves[i as usize], proof.clone(), some),
            (
                i,
                size,
                leaves[i as usize],
                [proof.clone(), vec![root]].concat(),
                root,
            ),
            (
                i,
                size,
                leaves[i as usize],
                [vec![root], proof.clone()].concat(),
                root,
            ),
        ];
        for k in 0..proof.len() {
            let mut p = proof.clone();
            p[k].0[0] ^= 8;
            probes.push((i, size, leaves[i as usize], p, root));
        }
        if !proof.is_empty() {
            probes.push((
                i,
                size,
                leaves[i as usize],
                proof[..proof.len() - 1].to_vec(),
                root,
            ));
        }
        for (k, (pi, ps, pl, pp, pr)) in probes.iter().enumerate() {
            assert!(
                merkle::verify_inclusion(*pi, *ps, pl, pp, pr).is_err(),
                "probe {k} of leaf {leaf} in {size} verified"
            );
        }
    }
    assert_eq!(merkle::inclusion_proof(&leaves[..3], 3), None);
    assert_eq!(
        merkle::verify_inclusion(0, 0, &leaves[0], &[], &merkle::empty_root()),
        Err(ProofError::IndexOutOfRange)
    );
}

#[test]
fn consistency_proofs_are_generated_and_verified_as_published() {
    let leaves = leaves();
    for (m, n, proof) in consistency_vectors() {
        let (r1, r2) = (h(ROOTS[m as usize - 1]), h(ROOTS[n as usize - 1]));
        assert_eq!(
            merkle::consistency_proof(&leaves[..n as usize], m as usize).unwrap(),
            proof
        );
        merkle::verify_consistency(m, n, &proof, &r1, &r2).unwrap();
        if proof.is_empty() {
            continue;
        }
        let mut probes: Vec<(u64, u64, Hash, Hash, Vec<Hash>)> = vec![
            (m - 1, n, r1, r2, proof.clone()),
            (m + 1, n, r1, r2, proof.clone()),
            (m ^ 2, n, r1, r2, proof.clone()),
            (m, n * 2, r1, r2, proof.clone()),
            (m, n / 2, r1, r2, proof.clone()),
            (m, n, merkle::sha256(b"WrongRoot"), r2, proof.clone()),
            (m, n, r1, merkle::sha256(b"WrongRoot"), proof.clone()),
            (m, n, r2, r1, proof.clone()),
            (m, n, r1, r2, vec![]),
            (m, n, r1, r2, [proof.clone(), vec![r1]].concat()),
            (m, n, r1, r2, [proof.clone(), vec![r2]].concat()),
            (m, n, r1, r2, [vec![r1], proof.clone()].concat()),
            (m, n, r1, r2, [vec![r2], proof.clone()].concat()),
            (m, n, r1, r2, [vec![proof[0]], proof.clone()].concat()),
            (m, n, r1, r2, proof[..proof.len() - 1].to_vec()),
        ];
        for k in 0..proof.len() {
            let mut p = proof.clone();
            p[k].0[0] ^= 16;
            probes.push((m, n, r1, r2, p));
        }
        for (k, (a, b, ra, rb, p)) in probes.iter().enumerate() {
            assert!(
                merkle::verify_consistency(*a, *b, p, ra, rb).is_err(),
                "probe {k} of {m}→{n} verified"
            );
        }
    }
    // Trivial cases of transparency-dev's TestVerifyConsistency.
    let (a, b) = (merkle::sha256(b"1"), merkle::sha256(b"2"));
    let e = merkle::empty_root();
    assert!(merkle::verify_consistency(0, 0, &[], &a, &b).is_err());
    assert!(merkle::verify_consistency(0, 0, &[], &a, &a).is_ok());
    assert!(merkle::verify_consistency(0, 1, &[], &a, &b).is_ok());
    assert!(merkle::verify_consistency(1, 1, &[], &b, &b).is_ok());
    assert!(merkle::verify_consistency(1, 0, &[], &a, &b).is_err());
    assert!(merkle::verify_consistency(2, 1, &[], &a, &b).is_err());
    assert!(merkle::verify_consistency(1, 2, &[], &a, &b).is_err());
    assert!(merkle::verify_consistency(0, 0, &[e], &e, &e).is_err());
    assert!(merkle::verify_consistency(0, 1, &[e], &e, &e).is_err());
    assert!(merkle::verify_consistency(1, 1, &[e], &e, &e).is_err());
}

#[test]
fn proofs_between_every_pair_of_sizes_verify() {
    // Beyond the published vectors: every (old, new) pair and every leaf up to 70 leaves, which
    // crosses several powers of two.
    let leaves: Vec<Hash> = (0..70u32)
        .map(|i| merkle::leaf_hash(&i.to_be_bytes()))
        .collect();
    for n in 1..=leaves.len() {
        let root = merkle::root(&leaves[..n]);
        for i in 0..n {
            let p = merkle::inclusion_proof(&leaves[..n], i).unwrap();
            merkle::verify_inclusion(i as u64, n as u64, &leaves[i], &p, &root).unwrap();
        }
        for m in 0..=n {
            let p = merkle::consistency_proof(&leaves[..n], m).unwrap();
            let old = merkle::root(&leaves[..m]);
            merkle::verify_consistency(m as u64, n as u64, &p, &old, &root).unwrap();
        }
    }
}

const GO_SKEY: &str =
    "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz";
const GO_VKEY: &str = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
const GO_TEXT: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const GO_NOTE: &str = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n\n\u{2014} PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

#[test]
fn signed_notes_match_the_reference_example_byte_for_byte() {
    let signer = NoteSigner::parse(GO_SKEY).unwrap();
    assert_eq!(signer.to_private_text(), GO_SKEY);
    assert_eq!(signer.verifier().to_text(), GO_VKEY);
    assert_eq!(signer.sign(GO_TEXT).unwrap(), GO_NOTE);
    let verifier = NoteVerifier::parse(GO_VKEY).unwrap();
    assert_eq!(verifier.open(GO_NOTE).unwrap(), GO_TEXT);
    // The C2SP spec's own example verifier key parses.
    NoteVerifier::parse("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
        .unwrap();
}

#[test]
fn altered_notes_and_keys_are_refused() {
    let verifier = NoteVerifier::parse(GO_VKEY).unwrap();
    let changed_text = GO_NOTE.replace("cryptography", "cryptographe");
    assert!(verifier.open(&changed_text).is_err());
    let changed_sig = GO_NOTE.replace("x08go", "x08gp");
    assert!(verifier.open(&changed_sig).is_err());
    assert!(verifier.open(GO_TEXT).is_err(), "a note without signatures");
    let other = NoteSigner::generate("PeterNeumann").unwrap();
    assert!(
        other.verifier().open(GO_NOTE).is_err(),
        "another key of the same name"
    );
    // A wrong key id in the key text.
    assert!(NoteVerifier::parse(&GO_VKEY.replace("c74f20a3", "c74f20a4")).is_err());
    assert!(NoteSigner::parse(&GO_SKEY.replace("PeterNeumann", "Peter")).is_err());
    assert!(NoteSigner::generate("has space").is_err());
    assert!(signer_of_go().sign("no final newline").is_err());
}

fn signer_of_go() -> NoteSigner {
    NoteSigner::parse(GO_SKEY).unwrap()
}

#[test]
fn checkpoints_round_trip_and_name_their_log() {
    let signer = NoteSigner::generate("lodestone.example/registry").unwrap();
    let cp = Checkpoint {
        origin: "lodestone.example/registry".into(),
        size: 8,
        root: h(ROOTS[7]),
    };
    assert_eq!(
        cp.to_text(),
        "lodestone.example/registry\n8\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n"
    );
    let note = signer.sign(&cp.to_text()).unwrap();
    assert_eq!(Checkpoint::open(&note, &signer.verifier()).unwrap(), cp);
    let forged = note.replace("\n8\n", "\n9\n");
    assert!(Checkpoint::open(&forged, &signer.verifier()).is_err());
    assert!(
        Checkpoint::parse_text("log\n08\nXcnaeacGWamtVZy3Ad7ZoqudgjqtL0lgz+Nw7/RgQyg=\n").is_err()
    );
    let other_log = NoteSigner::generate("another.example/log").unwrap();
    let misnamed = other_log.sign(&cp.to_text()).unwrap();
    assert!(Checkpoint::open(&misnamed, &other_log.verifier()).is_err());
}

#[test]
fn the_docs_print_the_matrix_the_code_enforces() {
    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/registry.md"
    ))
    .unwrap();
    assert!(
        doc.contains(&lodestone_registry::access::matrix_markdown()),
        "docs/registry.md does not show the matrix of access.rs: paste `lodestone registry matrix`"
    );
}
