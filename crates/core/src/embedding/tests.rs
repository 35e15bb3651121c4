//! The file-backed lookup against ONNX Runtime running the same graph (the independent reference),
//! for every recognised pattern, and the graphs it must leave to a session.

use std::path::{Path, PathBuf};

use ort::session::{RunOptions, Session};
use ort::value::Tensor;

use super::table::{Decode, Scale, plan};
use super::{EmbeddingLookup, EmbeddingSource, TokenEmbeddings, scan};
use crate::runtime::OnnxRuntime;

const VOCAB: usize = 64;
const DIM: usize = 16;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/embedding")
        .join(name)
}

/// Run options need ONNX Runtime loaded first (tests run in any order).
fn run_options() -> RunOptions {
    OnnxRuntime::init(None).expect("ONNX Runtime (run scripts/setup.sh)");
    RunOptions::new().expect("run options")
}

fn ort_embeddings(path: &Path, ids: &[i64]) -> Vec<f32> {
    let runtime = OnnxRuntime::init(None).expect("ONNX Runtime (run scripts/setup.sh)");
    let mut session = Session::builder(runtime.environment())
        .expect("builder")
        .commit_from_file(path)
        .expect("ORT loads the fixture");
    let input = Tensor::from_array(([1usize, ids.len()], ids.to_vec())).expect("ids");
    let out = session
        .run(ort::inputs!["input_ids" => input])
        .expect("ORT runs the fixture");
    out["inputs_embeds"]
        .try_extract_tensor::<f32>()
        .expect("float output")
        .1
        .to_vec()
}

fn table_embeddings(path: &Path, ids: &[i64]) -> Vec<f32> {
    let mut embeddings = match TokenEmbeddings::plan_table(path, EmbeddingLookup::FromFile) {
        Ok(table) => TokenEmbeddings::Table(table),
        Err(reason) => panic!("{} should be read from the file: {reason:?}", path.display()),
    };
    let mut out = vec![f32::NAN; ids.len() * DIM];
    embeddings
        .embed_into(ids, &mut out, &run_options())
        .expect("lookup");
    out
}

/// Every row, in a scrambled order with repeats, bit for bit equal to ONNX Runtime's output.
#[test]
fn every_pattern_matches_onnx_runtime_bit_for_bit() {
    let mut ids: Vec<i64> = (0..VOCAB as i64).rev().collect();
    ids.extend([3, 0, 63, 3, 17]);
    for name in [
        "f32.onnx",
        "f32_external.onnx",
        "f16.onnx",
        "per_row_int8.onnx",
        "per_row_uint8.onnx",
        "qdq_uint8.onnx",
        "qdq_int8_raw.onnx",
        "scaled.onnx",
        "scaled_one_constant.onnx",
        "scaled_first_operand.onnx",
        "per_row_int8_scaled.onnx",
        "identity_cast_div.onnx",
        "two_scales.onnx",
        "blocks_uint8.onnx",
        "blocks_uint8_external.onnx",
    ] {
        let path = fixture(name);
        let expected = ort_embeddings(&path, &ids);
        let got = table_embeddings(&path, &ids);
        assert_eq!(expected.len(), got.len(), "{name}");
        let mismatches: Vec<usize> = (0..got.len())
            .filter(|&i| got[i].to_bits() != expected[i].to_bits())
            .collect();
        assert!(
            mismatches.is_empty(),
            "{name}: {} of {} values differ, first at {}: ours {} vs ORT {}",
            mismatches.len(),
            got.len(),
            mismatches[0],
            got[mismatches[0]],
            expected[mismatches[0]]
        );
    }
}

#[test]
fn each_fixture_is_planned_as_its_pattern() {
    let kind = |name: &str| {
        let path = fixture(name);
        let graph = scan(std::fs::File::open(&path).expect("fixture")).expect("scan");
        let plan = plan(&graph, &path).expect("plan");
        assert_eq!((plan.rows, plan.dim), (VOCAB, DIM), "{name}");
        plan
    };
    assert_eq!(kind("f32.onnx").decode, Decode::F32);
    let external = kind("f32_external.onnx");
    assert_eq!(external.path, fixture("f32_external.data"));
    assert_eq!(
        external.offset,
        37 * 4,
        "the table follows a 37-float initializer"
    );
    assert_eq!(kind("f16.onnx").decode, Decode::F16);
    assert!(
        matches!(kind("per_row_int8.onnx").decode, Decode::PerRow { signed: true, ref scales, block: DIM, zero: 0.0 } if scales.len() == VOCAB)
    );
    assert!(matches!(
        kind("per_row_uint8.onnx").decode,
        Decode::PerRow { signed: false, .. }
    ));
    assert!(matches!(
        kind("qdq_uint8.onnx").decode,
        Decode::PerTensorQdq {
            signed: false,
            zero_point: 118,
            ..
        }
    ));
    assert!(matches!(
        kind("qdq_int8_raw.onnx").decode,
        Decode::PerTensorQdq {
            signed: true,
            zero_point: -5,
            ..
        }
    ));
    // The optimised int8 token table: blocks of 8, zero point 128, tables in external data.
    for name in ["blocks_uint8.onnx", "blocks_uint8_external.onnx"] {
        assert!(
            matches!(kind(name).decode, Decode::PerRow { signed: false, ref scales, block: 8, zero: 128.0 } if scales.len() == VOCAB * DIM / 8),
            "{name}"
        );
    }
    assert_eq!(
        kind("blocks_uint8_external.onnx").path,
        fixture("blocks_uint8_external.data")
    );
    // Scalar tails, in order.
    assert_eq!(kind("scaled.onnx").tail, vec![Scale::Mul(2.0)]);
    assert_eq!(kind("scaled_one_constant.onnx").tail, vec![Scale::Mul(1.0)]);
    assert_eq!(
        kind("two_scales.onnx").tail,
        vec![Scale::Mul(0.1), Scale::Mul(7.0)]
    );
    assert_eq!(kind("identity_cast_div.onnx").tail, vec![Scale::Div(3.0)]);
}

/// Graphs that are more than a lookup, or are not the embedding contract, keep a session.
#[test]
fn other_graphs_are_left_to_a_session() {
    let refused = |path: &Path| match TokenEmbeddings::plan_table(path, EmbeddingLookup::FromFile) {
        Ok(_) => panic!("{} must not be read as a plain table", path.display()),
        Err(reason) => reason.expect("a reason"),
    };
    assert!(refused(&fixture("offset.onnx")).contains("Add after the lookup"));
    assert!(refused(&fixture("per_column_scale.onnx")).contains("not a float scalar"));
    assert!(refused(&fixture("axis1.onnx")).contains("axis 1"));
    let broken = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/broken");
    assert!(refused(&broken.join("embed_tokens_wrong_name.onnx")).contains("expected input_ids"));
    assert!(refused(&broken.join("embed_tokens_wrong_dtype.onnx")).contains("expected int64"));
    // Asked for a session: no plan at all.
    assert!(matches!(
        TokenEmbeddings::plan_table(&fixture("f32.onnx"), EmbeddingLookup::Session),
        Err(None)
    ));
}

#[test]
fn ids_outside_the_table_are_typed_errors() {
    let Ok(table) = TokenEmbeddings::plan_table(&fixture("f32.onnx"), EmbeddingLookup::FromFile) else {
        panic!("f32.onnx is a plain table");
    };
    let mut embeddings = TokenEmbeddings::Table(table);
    let run = run_options();
    for bad in [VOCAB as i64, -1, i64::MAX] {
        let mut out = vec![0.0; DIM];
        let error = embeddings
            .embed_into(&[bad], &mut out, &run)
            .expect_err("out of range");
        assert!(
            matches!(&error, crate::Error::ModelRead { detail, .. } if detail.contains(&format!("token id {bad}"))),
            "{error}"
        );
    }
}

/// A file cut anywhere is scanned without a panic; a cut through the table is refused, and a cut
/// after it (trailing metadata lost) still reads exactly the full file's rows.
#[test]
fn truncated_files_never_read_past_their_end() {
    let full = fixture("f32.onnx");
    let bytes = std::fs::read(&full).expect("fixture");
    let table_end = {
        let graph = scan(std::fs::File::open(&full).expect("fixture")).expect("scan");
        let p = plan(&graph, &full).expect("plan");
        p.offset as usize + VOCAB * DIM * 4
    };
    let ids: Vec<i64> = (0..VOCAB as i64).collect();
    let expected = table_embeddings(&full, &ids);
    let dir = tempfile::tempdir().expect("tempdir");
    let cut = dir.path().join("cut.onnx");
    for len in 0..bytes.len() {
        std::fs::write(&cut, &bytes[..len]).expect("write");
        let planned = scan(std::io::Cursor::new(&bytes[..len])).and_then(|graph| plan(&graph, &cut));
        if len < table_end {
            assert!(
                planned.is_err(),
                "a {len}-byte prefix (table ends at {table_end}) was planned"
            );
        } else if planned.is_ok() {
            assert_eq!(table_embeddings(&cut, &ids), expected, "{len}-byte prefix");
        }
    }
}

/// The real fixture model: the default load reads its table from the file, and generation gives
/// the same ids as with the embeddings in an ONNX Runtime session.
#[test]
fn fixture_model_generates_the_same_ids_either_way() {
    use crate::{CancelFlag, Florence2, ImageInput, LoadOptions, RunOptions, Task, TaskRequest};
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/tiny-random");
    let image = ImageInput::File(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/images/coffee_600x400.png"),
    );
    let run = |lookup: EmbeddingLookup| {
        let options = LoadOptions {
            embeddings: lookup,
            ..LoadOptions::default()
        };
        let model = Florence2::load(&folder, &options).expect("fixture loads");
        match (lookup, model.embedding_source()) {
            (EmbeddingLookup::FromFile, EmbeddingSource::File { path }) => {
                assert!(path.ends_with("onnx/embed_tokens.onnx"), "{}", path.display())
            }
            (EmbeddingLookup::Session, EmbeddingSource::Session { reason: None }) => {}
            (lookup, source) => panic!("{lookup:?} loaded embeddings as {source:?}"),
        }
        let request = TaskRequest::new(Task::Caption).with_options(RunOptions {
            max_new_tokens: Some(12),
            num_beams: Some(2),
            resize_mode: None,
        });
        model
            .run(
                &image,
                &request,
                &CancelFlag::new(),
                &mut crate::generate::NoObserver,
            )
            .expect("run")
            .generated
            .ids
    };
    assert_eq!(run(EmbeddingLookup::FromFile), run(EmbeddingLookup::Session));
}

/// The file cut short after loading (an app update or a user deleting files underneath): a typed
/// error naming the file, and the rows still inside the file stay readable.
#[test]
fn a_file_cut_after_loading_is_a_typed_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("embed_tokens.onnx");
    std::fs::copy(fixture("f32.onnx"), &path).expect("copy");
    let Ok(table) = TokenEmbeddings::plan_table(&path, EmbeddingLookup::FromFile) else {
        panic!("f32.onnx is a plain table");
    };
    let mut embeddings = TokenEmbeddings::Table(table);
    let run = run_options();
    let mut out = vec![0.0; DIM];
    embeddings
        .embed_into(&[VOCAB as i64 - 1], &mut out, &run)
        .expect("intact");
    let len = std::fs::metadata(&path).expect("metadata").len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_len(len / 2))
        .expect("truncate");
    let error = embeddings
        .embed_into(&[VOCAB as i64 - 1], &mut out, &run)
        .expect_err("the last row is gone");
    assert!(
        matches!(&error, crate::Error::ModelRead { path: p, detail, .. } if p == &path && detail.contains("reading row")),
        "{error}"
    );
    embeddings
        .embed_into(&[0], &mut out, &run)
        .expect("row 0 is still in the file");
}
