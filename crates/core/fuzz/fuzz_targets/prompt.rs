//! Prompt building: task tokens parsed from any string, any user text put into every task's
//! template, region boxes (any floats, any image size) turned into `<loc_N>` tokens, `<loc_N>`
//! parsing, and the fixture's tokenizer encoding the resulting prompt. Errors are fine; panics
//! are not.
//!
//! `cargo +nightly fuzz run prompt` (from crates/core/fuzz).
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use florence2_core::task::{PixelBox, Task, parse_loc_token};
use florence2_core::tokenizer::PromptTokenizer;
use libfuzzer_sys::fuzz_target;

fn tokenizer() -> &'static PromptTokenizer {
    static TOKENIZER: OnceLock<PromptTokenizer> = OnceLock::new();
    TOKENIZER.get_or_init(|| {
        let path =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../tests/fixtures/tiny-random/tokenizer.json");
        PromptTokenizer::load(&path, 51289).expect("the fixture tokenizer loads")
    })
}

fn f64_at(data: &[u8], at: usize) -> f64 {
    let mut b = [0u8; 8];
    for (i, slot) in b.iter_mut().enumerate() {
        *slot = data.get(at + i).copied().unwrap_or(0);
    }
    f64::from_le_bytes(b)
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 41 {
        return;
    }
    let (head, rest) = data.split_at(41);
    let text = String::from_utf8_lossy(rest);
    let _ = text.parse::<Task>();
    let _ = parse_loc_token(&text);
    let task = Task::ALL[usize::from(head[0]) % Task::ALL.len()];
    let input = if head[0] & 0x80 == 0 {
        Some(text.as_ref())
    } else {
        None
    };
    if let Ok(prompt) = task.prompt(input) {
        let ids = tokenizer().encode(&prompt).expect("any prompt text encodes");
        assert!(ids.len() >= 2, "prompts are wrapped in <s> … </s>");
    }
    let region = PixelBox::new(
        f64_at(head, 1),
        f64_at(head, 9),
        f64_at(head, 17),
        f64_at(head, 25),
    );
    let width = u32::from_le_bytes([head[33], head[34], head[35], head[36]]);
    let height = u32::from_le_bytes([head[37], head[38], head[39], head[40]]);
    if let Ok(prompt) = task.region_prompt(region, width, height) {
        assert!(task.takes_region());
        let ids = tokenizer().encode(&prompt).expect("region prompts encode");
        // Four location tokens are single ids.
        assert!(ids.len() >= 6, "{prompt}: {ids:?}");
    }
});
