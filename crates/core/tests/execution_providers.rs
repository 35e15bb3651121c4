//! Execution providers on the desktop: CPU works; XNNPACK (not in the PyPI ONNX Runtime wheel that
//! scripts/setup.sh installs) and NNAPI (Android only) are reported unavailable as typed errors under
//! the fail policy, and as a reported CPU fallback under the fallback policy.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use florence2_core::{
    Error, ExecutionProvider, Florence2, LoadOptions, ModelGraph, NnapiOptions, ProviderFallback,
    ProviderOptions, XnnpackOptions,
};

fn options(provider: ExecutionProvider, fallback: ProviderFallback) -> LoadOptions {
    let mut options = LoadOptions::default();
    options.session.provider = ProviderOptions {
        provider,
        fallback,
        xnnpack: XnnpackOptions { threads: 2 },
        ..ProviderOptions::default()
    };
    options
}

/// Greedy caption ids of the chelsea fixture image (a few tokens: enough to compare sessions).

#[test]
fn cpu_is_requested_and_active_for_every_graph() {
    let model = Florence2::load(
        &common::fixture_model(),
        &options(ExecutionProvider::Cpu, ProviderFallback::Fail),
    )
    .unwrap();
    let report = model.execution_providers();
    let graphs: Vec<ModelGraph> = report.iter().map(|p| p.graph).collect();
    assert_eq!(graphs, ModelGraph::ALL.to_vec());
    for p in report {
        assert_eq!(p.requested, ExecutionProvider::Cpu, "{p:?}");
        assert_eq!(p.active, ExecutionProvider::Cpu, "{p:?}");
        assert_eq!(p.fallback_reason, None, "{p:?}");
    }
}

/// Under the fail policy the first graph loaded (the decoder: it loads first, see `Florence2::load`)
/// fails with a typed error naming the
/// provider, the graph and the reason.
fn assert_unavailable(provider: ExecutionProvider, reason_mentions: &[&str]) {
    let err = Florence2::load(
        &common::fixture_model(),
        &options(provider, ProviderFallback::Fail),
    )
    .expect_err("an unavailable provider must fail under the fail policy");
    match &err {
        Error::ExecutionProviderUnavailable {
            provider: p,
            graph,
            path,
            detail,
        } => {
            assert_eq!(*p, provider);
            assert_eq!(*graph, ModelGraph::Decoder);
            assert!(
                path.ends_with("onnx/decoder_model_merged.onnx"),
                "{}",
                path.display()
            );
            assert!(
                reason_mentions.iter().any(|m| detail.contains(m)),
                "{detail:?} mentions none of {reason_mentions:?}"
            );
        }
        other => panic!("expected ExecutionProviderUnavailable, got {other:?}"),
    }
    let text = err.to_string();
    assert!(
        text.contains(&provider.to_string()) && text.contains("decoder"),
        "{text}"
    );
}

#[test]
fn xnnpack_is_unavailable_in_the_desktop_wheel() {
    // The PyPI build has no XnnpackExecutionProvider; ONNX Runtime's Android package has it.
    assert_unavailable(ExecutionProvider::Xnnpack, &["XnnpackExecutionProvider"]);
}

#[test]
fn nnapi_is_unavailable_off_android() {
    // Without the `nnapi` feature the build says NNAPI is Android-only; with it, the desktop
    // runtime does not list NnapiExecutionProvider.
    assert_unavailable(ExecutionProvider::Nnapi, &["Android", "NnapiExecutionProvider"]);
}

#[test]
fn fallback_policy_loads_on_cpu_and_reports_why() {
    let cpu = Florence2::load(
        &common::fixture_model(),
        &options(ExecutionProvider::Cpu, ProviderFallback::Fail),
    )
    .unwrap();
    let expected = common::caption_ids(&cpu, 1);
    for provider in [ExecutionProvider::Xnnpack, ExecutionProvider::Nnapi] {
        let model = Florence2::load(
            &common::fixture_model(),
            &options(provider, ProviderFallback::Cpu),
        )
        .unwrap();
        assert_eq!(model.execution_providers().len(), 4);
        for p in model.execution_providers() {
            assert_eq!(p.requested, provider, "{p:?}");
            assert_eq!(p.active, ExecutionProvider::Cpu, "{p:?}");
            let reason = p.fallback_reason.as_deref().expect("a fallback has a reason");
            // Token embeddings are no session at all: read from the file (see `embedding`).
            let why = if p.graph == ModelGraph::EmbedTokens {
                "model file"
            } else {
                "unavailable"
            };
            assert!(
                reason.contains(why) && reason.contains(&p.graph.to_string()),
                "{reason}"
            );
        }
        // The fallback sessions are ordinary CPU sessions: same tokens as a CPU load.
        assert_eq!(common::caption_ids(&model, 1), expected, "{provider}");
    }
}

#[test]
fn fallback_does_not_hide_a_broken_graph() {
    let dir = common::fixture_copy(true);
    let graph = dir.path().join("onnx/vision_encoder.onnx");
    std::fs::remove_file(&graph).unwrap();
    std::fs::write(&graph, b"not an onnx file").unwrap();
    // Falling back to CPU meets the broken file: a model error, not a provider one.
    let err = Florence2::load(
        dir.path(),
        &options(ExecutionProvider::Xnnpack, ProviderFallback::Cpu),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::SessionLoad {
                graph: ModelGraph::VisionEncoder,
                ..
            }
        ),
        "{err:?}"
    );
    // Under the fail policy the unavailable provider is reported first (no CPU load is tried).
    let err = Florence2::load(
        dir.path(),
        &options(ExecutionProvider::Xnnpack, ProviderFallback::Fail),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            Error::ExecutionProviderUnavailable {
                provider: ExecutionProvider::Xnnpack,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn contradictory_nnapi_flags_are_an_invalid_option_under_either_policy() {
    for fallback in [ProviderFallback::Cpu, ProviderFallback::Fail] {
        let mut options = options(ExecutionProvider::Nnapi, fallback);
        options.session.provider.nnapi = NnapiOptions {
            cpu_only: true,
            cpu_disabled: true,
            ..NnapiOptions::default()
        };
        let err = Florence2::load(&common::fixture_model(), &options).unwrap_err();
        assert!(
            matches!(err, Error::InvalidOption { option: "nnapi", .. }),
            "{err:?}"
        );
    }
}
