//! Text scanning shared by the parsers: special-token removal, Python's whitespace, location and
//! polygon token runs, and label extraction.
//!
//! The reference parsers are Python regexes; the functions here reproduce what those regexes
//! match (leftmost match first, then the next match after it), including their quirks, without a
//! regex engine. Each function names the pattern it stands for.

use crate::task::loc::loc_token_at;

/// Python's `str.isspace()` (also what `\s` matches in a Python `str` regex): Rust's
/// `char::is_whitespace` plus the separators U+001C..U+001F.
pub(super) fn is_python_space(c: char) -> bool {
    c.is_whitespace() || ('\u{1c}'..='\u{1f}').contains(&c)
}

/// Python's `str.strip()`.
pub(super) fn python_strip(s: &str) -> &str {
    s.trim_matches(is_python_space)
}

/// `text.replace("<s>", "").replace("</s>", "")`, plus `.replace("<pad>", "")` if `pad`.
///
/// The replacements run one after the other, as in the reference, so `"<<s>/s>"` becomes `""`.
pub(super) fn remove_special_tokens(text: &str, pad: bool) -> String {
    let text = text.replace("<s>", "").replace("</s>", "");
    if pad { text.replace("<pad>", "") } else { text }
}

/// Which tokens may form a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum RunTokens {
    /// `<loc_N>` only.
    Loc,
    /// `<loc_N>`, `<sep>`, `<poly>` and `</poly>`.
    LocAndPolygon,
}

/// A token of a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Token {
    /// `<loc_N>` with its number.
    Loc(u64),
    /// `<sep>`, `<poly>` or `</poly>`.
    Polygon,
}

fn token_at(text: &str, pos: usize, kind: RunTokens) -> Option<(Token, usize)> {
    if let Some((bin, len)) = loc_token_at(text, pos) {
        return Some((Token::Loc(bin), len));
    }
    if kind == RunTokens::LocAndPolygon {
        let rest = text.get(pos..)?;
        for marker in ["<sep>", "<poly>", "</poly>"] {
            if rest.starts_with(marker) {
                return Some((Token::Polygon, marker.len()));
            }
        }
    }
    None
}

/// The tokens of the run starting at `start` (greedy: as many as follow each other) and the byte
/// offset where it ends.
pub(super) fn token_run(text: &str, start: usize, kind: RunTokens) -> (Vec<Token>, usize) {
    let mut tokens = Vec::new();
    let mut pos = start;
    while let Some((token, len)) = token_at(text, pos, kind) {
        tokens.push(token);
        pos += len;
    }
    (tokens, pos)
}

/// The location bins of a run starting at `start` and the offset where the run ends.
pub(super) fn loc_run(text: &str, start: usize) -> (Vec<u64>, usize) {
    let (tokens, end) = token_run(text, start, RunTokens::Loc);
    (loc_bins(&tokens), end)
}

/// The numbers of the `<loc_N>` tokens among `tokens`.
pub(super) fn loc_bins(tokens: &[Token]) -> Vec<u64> {
    tokens
        .iter()
        .filter_map(|t| match t {
            Token::Loc(bin) => Some(*bin),
            Token::Polygon => None,
        })
        .collect()
}

/// A match of the phrase patterns.
#[derive(Debug)]
pub(super) struct Phrase<'a> {
    /// The whole match (text part and token run).
    pub text: &'a str,
    /// The tokens of the run, in order.
    pub tokens: Vec<Token>,
}

/// All non-overlapping matches, left to right, of `[^<]+(?:TOKEN){4,}` (`with_text`) or
/// `(?:TOKEN){4,}` (without), where TOKEN is a token of `kind`.
///
/// With text, a match starts at any character that is not `<`, including just after the `<` of a
/// token whose run was too short: in `"<loc_1><loc_2> cat<loc_3>…"` the phrase found is
/// `"loc_2> cat<loc_3>…"`, which is how labels such as `"loc_945> saying Nexus Lis"` arise in the
/// reference outputs.
pub(super) fn find_phrases(text: &str, kind: RunTokens, with_text: bool) -> Vec<Phrase<'_>> {
    let mut phrases = Vec::new();
    let mut pos = 0;
    while pos < text.len() {
        // `[^<]+` is greedy and the token run must begin with `<`, so the text part always
        // extends to the next `<` (or the end, where the match fails).
        let (match_start, run_start) = if with_text {
            let text_end = text[pos..].find('<').map_or(text.len(), |i| pos + i);
            if text_end == pos {
                pos += 1; // a `<` cannot start `[^<]+`
                continue;
            }
            (pos, text_end)
        } else {
            match text[pos..].find('<') {
                Some(i) => (pos + i, pos + i),
                None => break,
            }
        };
        let (tokens, end) = token_run(text, run_start, kind);
        if tokens.len() >= 4 {
            phrases.push(Phrase {
                text: &text[match_start..end],
                tokens,
            });
            pos = end;
        } else {
            // Every later start before `run_start` fails the same way; `<` is one byte.
            pos = run_start + 1;
        }
    }
    phrases
}

/// The label stops of the box parsers (`(?=<od>|</od>|<box>|</box>|<bbox>|</bbox>|<loc_)`).
pub(super) const BOX_LABEL_STOPS: &[&str] =
    &["<od>", "</od>", "<box>", "</box>", "<bbox>", "</bbox>", "<loc_"];

/// The label stops of the polygon parser (the box stops and `<poly>`).
pub(super) const POLYGON_LABEL_STOPS: &[&str] = &[
    "<od>", "</od>", "<box>", "</box>", "<bbox>", "</bbox>", "<loc_", "<poly>",
];

/// What `re.search(r"^\s*(.*?)(?=STOPS)", phrase).group()` returns: `phrase` up to the first stop,
/// or `None` when there is no stop or a line break (which `.` does not match) comes before it.
/// Leading whitespace, line breaks included, is part of the result; callers strip it.
pub(super) fn label_before_stop<'a>(phrase: &'a str, stops: &[&str]) -> Option<&'a str> {
    let body_start = phrase.len() - phrase.trim_start_matches(is_python_space).len();
    // Every stop begins with `<`, which is not whitespace, so the first stop is in the body.
    let stop = phrase[body_start..]
        .match_indices('<')
        .map(|(i, _)| body_start + i)
        .find(|&i| stops.iter().any(|s| phrase[i..].starts_with(s)))?;
    if phrase[body_start..stop].contains('\n') {
        return None;
    }
    Some(&phrase[..stop])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_whitespace() {
        // Every code point for which CPython 3.11's str.isspace() is true.
        let python: Vec<u32> = [
            0x9..=0xd,
            0x1c..=0x20,
            0x85..=0x85,
            0xa0..=0xa0,
            0x1680..=0x1680,
            0x2000..=0x200a,
            0x2028..=0x2029,
            0x202f..=0x202f,
            0x205f..=0x205f,
            0x3000..=0x3000,
        ]
        .into_iter()
        .flatten()
        .collect();
        let ours: Vec<u32> = (0..=0x10ffff_u32)
            .filter_map(char::from_u32)
            .filter(|&c| is_python_space(c))
            .map(u32::from)
            .collect();
        assert_eq!(ours, python);
        assert_eq!(python_strip("\u{1c}\u{3000} a b\u{85}\n"), "a b");
        assert_eq!(python_strip("\u{200b}x"), "\u{200b}x"); // zero-width space is not whitespace
    }

    #[test]
    fn special_tokens_are_removed_in_order() {
        assert_eq!(remove_special_tokens("<<s>/s>a<pad>", false), "a<pad>");
        assert_eq!(remove_special_tokens("<<s>/s>a<pad>", true), "a");
    }

    #[test]
    fn phrases_with_text() {
        let t = "<loc_1><loc_2> cat<loc_3><loc_4><loc_5><loc_6><loc_7>dog<loc_8>";
        let p = find_phrases(t, RunTokens::Loc, true);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].text, "loc_2> cat<loc_3><loc_4><loc_5><loc_6><loc_7>");
        assert_eq!(loc_bins(&p[0].tokens), vec![3, 4, 5, 6, 7]);
        assert!(find_phrases("no tokens", RunTokens::Loc, true).is_empty());
        assert!(find_phrases("", RunTokens::Loc, true).is_empty());
    }

    #[test]
    fn phrases_without_text() {
        let t = "a<loc_1><loc_2><loc_3>b<loc_4><loc_5><loc_6><loc_7><sep><loc_8>";
        let p = find_phrases(t, RunTokens::Loc, false);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].text, "<loc_4><loc_5><loc_6><loc_7>");
        let p = find_phrases(t, RunTokens::LocAndPolygon, false);
        assert_eq!(p[0].text, "<loc_4><loc_5><loc_6><loc_7><sep><loc_8>");
    }

    #[test]
    fn labels() {
        assert_eq!(
            label_before_stop(" \n car <loc_1>", BOX_LABEL_STOPS),
            Some(" \n car ")
        );
        assert_eq!(label_before_stop("a\nb<loc_1>", BOX_LABEL_STOPS), None);
        assert_eq!(label_before_stop("no stop", BOX_LABEL_STOPS), None);
        assert_eq!(
            label_before_stop("<sep><poly>", POLYGON_LABEL_STOPS),
            Some("<sep>")
        );
        assert_eq!(label_before_stop("<sep><poly>", BOX_LABEL_STOPS), None);
        assert_eq!(label_before_stop("x<loc_>", BOX_LABEL_STOPS), Some("x"));
    }
}
