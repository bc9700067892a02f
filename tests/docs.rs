//! The documentation in `docs/` ships with the project and is kept in step
//! with the code. Each test reads the code (source text, not a hand-kept list)
//! and fails when something it defines is not documented:
//!
//! - every errno of `src/errors.rs` (`enum Errno`) has a row in an errno table;
//! - every errMsg reason template in `src/` (the text given to `WxError`,
//!   policy refusals, connector and sandbox errors, socket `onError` texts) is
//!   quoted in `docs/`;
//! - every `#define WXNET_*` of `include/wxnet.h` (statuses, event kinds, log
//!   levels, versions) is named in `docs/c-abi.md`, statuses and event kinds in
//!   a table row with their value;
//! - every function of `include/wxnet.h` has its own heading in `docs/c-abi.md`,
//!   and every `wxnet_*` type is named there;
//! - every app config field (`src/config.rs`, nested ones as `parent.child`) has
//!   a row in a table of `docs/`;
//! - README.md and `docs/` link only to files that exist in the repository.
//!
//! To document something new: add it to the page named in the failure.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// Every file under `dir` (recursively) whose name ends with `ext`, sorted.
fn files_under(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                stack.push(path);
            } else if path.to_string_lossy().ends_with(ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// All of `docs/**/*.md`, concatenated.
fn all_docs() -> String {
    let pages = files_under(&root().join("docs"), ".md");
    assert!(!pages.is_empty(), "docs/ has no .md pages");
    pages.iter().map(|p| read(p)).collect::<Vec<_>>().join("\n")
}

fn c_abi_page() -> String {
    read(&root().join("docs/c-abi.md"))
}

/// The first cell of every Markdown table row, without backticks.
fn first_cells(md: &str) -> BTreeSet<String> {
    md.lines()
        .filter_map(|l| l.trim().strip_prefix('|'))
        .filter_map(|rest| rest.split('|').next())
        .map(|cell| cell.trim().trim_matches('`').trim().to_owned())
        .collect()
}

/// The table rows whose first cell is `name` (backticks optional).
fn rows_for<'a>(md: &'a str, name: &str) -> Vec<&'a str> {
    md.lines()
        .filter(|l| {
            l.trim()
                .strip_prefix('|')
                .and_then(|rest| rest.split('|').next())
                .is_some_and(|cell| cell.trim().trim_matches('`').trim() == name)
        })
        .collect()
}

// ---------------------------------------------------------------------------
// A small Rust lexer: enough to find string literals, identifiers and
// punctuation in our sources without being fooled by comments or char
// literals.

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Punct(char),
    Num(String),
}

fn lex(src: &str) -> Vec<Tok> {
    let b: Vec<char> = src.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && b.get(i + 1) == Some(&'/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && b.get(i + 1) == Some(&'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
        } else if c == '"' {
            let (s, next) = lex_str(&b, i + 1);
            out.push(Tok::Str(s));
            i = next;
        } else if (c == 'r' || c == 'b') && raw_or_byte_string_start(&b, i).is_some() {
            let (s, next) = raw_or_byte_string_start(&b, i).expect("checked");
            out.push(Tok::Str(s));
            i = next;
        } else if c == '\'' {
            // A char literal ('x', '\n', '\u{..}') or a lifetime ('a).
            if b.get(i + 1) == Some(&'\\') {
                let mut j = i + 2;
                while j < b.len() && b[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
            } else if b.get(i + 2) == Some(&'\'') {
                i += 3;
            } else {
                i += 1;
                while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                    i += 1;
                }
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            out.push(Tok::Ident(b[start..i].iter().collect()));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            out.push(Tok::Num(b[start..i].iter().collect()));
        } else {
            out.push(Tok::Punct(c));
            i += 1;
        }
    }
    out
}

/// A `"…"` literal starting after its quote: (decoded text, index after it).
fn lex_str(b: &[char], mut i: usize) -> (String, usize) {
    let mut s = String::new();
    while i < b.len() && b[i] != '"' {
        if b[i] == '\\' {
            i += 1;
            match b.get(i) {
                Some('n') => s.push('\n'),
                Some('r') => s.push('\r'),
                Some('t') => s.push('\t'),
                Some('0') => s.push('\0'),
                Some('\n') => {
                    // Line continuation: skip the newline and leading whitespace.
                    while i + 1 < b.len() && b[i + 1].is_whitespace() {
                        i += 1;
                    }
                }
                Some('u') => {
                    let close = (i..b.len()).find(|&j| b[j] == '}').unwrap_or(i);
                    let hex: String = b[i + 2..close].iter().collect();
                    if let Some(ch) = u32::from_str_radix(&hex, 16).ok().and_then(char::from_u32) {
                        s.push(ch);
                    }
                    i = close;
                }
                Some('x') => {
                    let hex: String = b[i + 1..i + 3].iter().collect();
                    s.push(u8::from_str_radix(&hex, 16).unwrap_or(b'?') as char);
                    i += 2;
                }
                Some(other) => s.push(*other),
                None => {}
            }
            i += 1;
        } else {
            s.push(b[i]);
            i += 1;
        }
    }
    (s, i + 1)
}

/// `r"…"`, `r#"…"#`, `b"…"`, `br#"…"#` at `i`: (text, index after it).
fn raw_or_byte_string_start(b: &[char], i: usize) -> Option<(String, usize)> {
    // Not the tail of an identifier such as `bar"`.
    if i > 0 && (b[i - 1].is_alphanumeric() || b[i - 1] == '_') {
        return None;
    }
    let mut j = i;
    if b.get(j) == Some(&'b') {
        j += 1;
    }
    let raw = b.get(j) == Some(&'r');
    if raw {
        j += 1;
    }
    if !raw {
        return (j > i && b.get(j) == Some(&'"')).then(|| lex_str(b, j + 1));
    }
    let mut hashes = 0;
    while b.get(j) == Some(&'#') {
        hashes += 1;
        j += 1;
    }
    if b.get(j) != Some(&'"') {
        return None;
    }
    let start = j + 1;
    let mut k = start;
    while k < b.len() {
        if b[k] == '"' && (1..=hashes).all(|h| b.get(k + h) == Some(&'#')) {
            return Some((b[start..k].iter().collect(), k + 1 + hashes));
        }
        k += 1;
    }
    None
}

fn is_ident(t: &Tok, name: &str) -> bool {
    matches!(t, Tok::Ident(s) if s == name)
}

/// The index of the `)` that closes the `(` at `open`.
fn closing_paren(toks: &[Tok], open: usize) -> usize {
    let mut depth = 0;
    for (k, t) in toks.iter().enumerate().skip(open) {
        match t {
            Tok::Punct('(') | Tok::Punct('[') | Tok::Punct('{') => depth += 1,
            Tok::Punct(')') | Tok::Punct(']') | Tok::Punct('}') => {
                depth -= 1;
                if depth == 0 {
                    return k;
                }
            }
            _ => {}
        }
    }
    toks.len()
}

/// Drops `#[cfg(test)] mod … { … }` blocks: their strings are test data.
fn without_test_modules(toks: Vec<Tok>) -> Vec<Tok> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let cfg_test = toks[i] == Tok::Punct('#')
            && toks.get(i + 1) == Some(&Tok::Punct('['))
            && toks.get(i + 2).is_some_and(|t| is_ident(t, "cfg"))
            && toks.get(i + 4).is_some_and(|t| is_ident(t, "test"))
            && toks.get(i + 6) == Some(&Tok::Punct(']'))
            && toks.get(i + 7).is_some_and(|t| is_ident(t, "mod"));
        if cfg_test {
            match toks[i + 8..].iter().position(|t| *t == Tok::Punct('{')) {
                Some(p) => i = closing_paren(&toks, i + 8 + p) + 1,
                None => i = toks.len(),
            }
            continue;
        }
        out.push(toks[i].clone());
        i += 1;
    }
    out
}

/// The lexed non-test code of every `src/**/*.rs`, with its path.
fn sources() -> Vec<(PathBuf, Vec<Tok>)> {
    files_under(&root().join("src"), ".rs")
        .into_iter()
        .filter(|p| !p.ends_with("tests.rs"))
        .map(|p| {
            let toks = without_test_modules(lex(&read(&p)));
            (p, toks)
        })
        .collect()
}

/// Calls whose string literals are (part of) an errMsg reason, or of the
/// text of a socket `onError`: `Type::function(` or `function(` (a `None`
/// type matches the function name alone, for helpers).
const REASON_CALLS: &[(Option<&str>, &str)] = &[
    (Some("WxError"), "new"),
    (Some("WxError"), "network"),
    (Some("WxError"), "parameter"),
    (Some("PolicyViolation"), "invalid"),
    (Some("PolicyViolation"), "not_listed"),
    (Some("SandboxError"), "Invalid"),
    (Some("SandboxError"), "Missing"),
    (None, "err_msg_json"),
    (None, "abnormal"),
    (None, "failure"),
];

/// `Display` impls whose text ends up in an errMsg (`write!(f, "…")`).
const REASON_DISPLAYS: &[&str] = &["ConnectError", "SandboxError", "PolicyViolation"];

/// Every errMsg reason template in the code, with where it was found.
fn reason_templates() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (path, toks) in sources() {
        let at = path.strip_prefix(root()).unwrap_or(&path).display().to_string();
        let mut display_of: Option<String> = None;
        for i in 0..toks.len() {
            // Track which type's `impl … Display for Name {` we are in.
            if is_ident(&toks[i], "impl") {
                let head_end = toks[i..]
                    .iter()
                    .position(|t| *t == Tok::Punct('{'))
                    .map_or(toks.len(), |p| i + p);
                display_of = toks[i..head_end].windows(3).find_map(|w| match w {
                    [d, f, Tok::Ident(name)] if is_ident(d, "Display") && is_ident(f, "for") => Some(name.clone()),
                    _ => None,
                });
            }
            let call = REASON_CALLS.iter().find_map(|(ty, func)| {
                let open = match ty {
                    Some(ty) => {
                        is_ident(&toks[i], ty)
                            && toks.get(i + 1) == Some(&Tok::Punct(':'))
                            && toks.get(i + 2) == Some(&Tok::Punct(':'))
                            && toks.get(i + 3).is_some_and(|t| is_ident(t, func))
                            && toks.get(i + 4) == Some(&Tok::Punct('('))
                    }
                    None => {
                        is_ident(&toks[i], func)
                            && toks.get(i + 1) == Some(&Tok::Punct('('))
                            && !(i > 0 && is_ident(&toks[i - 1], "fn"))
                    }
                };
                open.then(|| if ty.is_some() { i + 4 } else { i + 1 })
            });
            let write_display = is_ident(&toks[i], "write")
                && toks.get(i + 1) == Some(&Tok::Punct('!'))
                && display_of.as_deref().is_some_and(|d| REASON_DISPLAYS.contains(&d));
            let open = match (call, write_display) {
                (Some(open), _) => open,
                (None, true) => i + 2,
                _ => continue,
            };
            let close = closing_paren(&toks, open);
            for t in &toks[open..close] {
                if let Tok::Str(s) = t {
                    out.push((s.clone(), at.clone()));
                }
            }
        }
    }
    out
}

/// The fixed parts of a `format!` template: the text between placeholders,
/// trimmed of spaces and punctuation, keeping those with a word in them.
fn fixed_parts(template: &str) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '{' if chars.peek() == Some(&'{') => {
                chars.next();
                current.push('{');
            }
            '}' if chars.peek() == Some(&'}') => {
                chars.next();
                current.push('}');
            }
            '{' => {
                for c in chars.by_ref() {
                    if c == '}' {
                        break;
                    }
                }
                parts.push(std::mem::take(&mut current));
            }
            _ => current.push(c),
        }
    }
    parts.push(current);
    parts
        .into_iter()
        .map(|p| {
            p.trim_matches(|c: char| c.is_whitespace() || ":;,.()\"'".contains(c))
                .to_owned()
        })
        .filter(|p| p.chars().filter(|c| c.is_alphabetic()).count() >= 3)
        .collect()
}

#[test]
fn every_errno_has_a_row_in_an_errno_table() {
    let errors = read(&root().join("src/errors.rs"));
    let toks = lex(&errors);
    let start = toks
        .windows(2)
        .position(|w| is_ident(&w[0], "enum") && is_ident(&w[1], "Errno"))
        .expect("src/errors.rs defines enum Errno");
    let open = start + toks[start..].iter().position(|t| *t == Tok::Punct('{')).expect("{");
    let close = closing_paren(&toks, open);
    let mut errnos = Vec::new();
    for w in toks[open..close].windows(3) {
        if let (Tok::Ident(name), Tok::Punct('='), Tok::Num(n)) = (&w[0], &w[1], &w[2]) {
            errnos.push((name.clone(), n.replace('_', "")));
        }
    }
    assert!(errnos.len() >= 10, "found only {errnos:?} in enum Errno");
    let cells = first_cells(&all_docs());
    let missing: Vec<_> = errnos.iter().filter(|(_, n)| !cells.contains(n)).collect();
    assert!(
        missing.is_empty(),
        "errno without a row (`| <errno> | …`) in docs/behaviour.md's errno table: {missing:?}"
    );
}

#[test]
fn every_err_msg_template_is_documented() {
    let templates = reason_templates();
    // The scan must find the well-known ones, or it has gone blind.
    for known in [
        "exceed max file size",
        "reach the max redirect count",
        "parameter error: {detail}",
    ] {
        assert!(
            templates.iter().any(|(t, _)| t == known),
            "the source scan no longer finds {known:?}: update REASON_CALLS in tests/docs.rs"
        );
    }
    let docs = all_docs();
    let mut missing = BTreeSet::new();
    for (template, at) in &templates {
        for part in fixed_parts(template) {
            if !docs.contains(&part) {
                missing.insert(format!("{part:?} (from {template:?} in {at})"));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "errMsg texts in the code that docs/ does not quote (add them to docs/behaviour.md):\n  {}",
        missing.into_iter().collect::<Vec<_>>().join("\n  ")
    );
}

/// `#define NAME VALUE` lines of the header.
fn header_defines() -> Vec<(String, String)> {
    read(&root().join("include/wxnet.h"))
        .lines()
        .filter_map(|l| l.strip_prefix("#define "))
        .filter_map(|l| {
            let mut it = l.split_whitespace();
            Some((it.next()?.to_owned(), it.next()?.to_owned()))
        })
        .filter(|(name, _)| name.starts_with("WXNET_"))
        .collect()
}

#[test]
fn every_status_and_event_kind_has_a_row_with_its_value() {
    let page = c_abi_page();
    let defines = header_defines();
    let mut missing = Vec::new();
    let mut checked = 0;
    for (name, value) in &defines {
        let tabled = name == "WXNET_OK" || name.starts_with("WXNET_E_") || name.starts_with("WXNET_EVENT_");
        if tabled {
            checked += 1;
            let ok = rows_for(&page, name)
                .iter()
                .any(|row| row.split('|').any(|cell| cell.trim().trim_matches('`') == value));
            if !ok {
                missing.push(format!("{name} = {value}"));
            }
        } else if !page.contains(name.as_str()) {
            missing.push(name.clone());
        }
    }
    assert!(
        checked >= 15,
        "found only {checked} statuses and event kinds in include/wxnet.h"
    );
    assert!(
        missing.is_empty(),
        "constants of include/wxnet.h missing from docs/c-abi.md (statuses and event kinds need a \
         table row `| `NAME` | value | …`): {missing:?}"
    );
}

/// Names declared by the header outside comments: (functions, types).
fn header_names() -> (BTreeSet<String>, BTreeSet<String>) {
    let header = read(&root().join("include/wxnet.h"));
    let mut functions = BTreeSet::new();
    let mut types = BTreeSet::new();
    for line in header.lines().map(str::trim) {
        if line.starts_with("//") || line.starts_with('*') || line.starts_with("/*") || line.starts_with('#') {
            continue;
        }
        let code = line.split("//").next().unwrap_or_default();
        let mut rest = code;
        while let Some(at) = rest.find("wxnet_") {
            let boundary = at == 0 || !rest[..at].ends_with(|c: char| c.is_alphanumeric() || c == '_');
            let tail = &rest[at..];
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            let name = &tail[..end];
            if boundary {
                let after = tail[end..].trim_start();
                let declared_function = after.starts_with('(') && !code.trim_start().starts_with("typedef");
                if declared_function {
                    functions.insert(name.to_owned());
                } else {
                    types.insert(name.to_owned());
                }
            }
            rest = &tail[end..];
        }
    }
    // Parameter names such as `wxnet_task_id task` are types; a name that is
    // a function is not also a type.
    types.retain(|t| !functions.contains(t));
    (functions, types)
}

#[test]
fn every_exported_function_has_a_heading_and_every_type_is_named() {
    let (functions, types) = header_names();
    assert!(functions.len() >= 15, "found only {functions:?} in include/wxnet.h");
    assert!(types.contains("wxnet_event"), "types found: {types:?}");
    let page = c_abi_page();
    let headings: Vec<&str> = page.lines().filter(|l| l.starts_with('#')).collect();
    let missing_fn: Vec<_> = functions
        .iter()
        .filter(|f| !headings.iter().any(|h| h.contains(&format!("`{f}`"))))
        .collect();
    let missing_ty: Vec<_> = types
        .iter()
        .filter(|t| !page.contains(&format!("`{t}`")) && !page.contains(&format!("`{t} ")))
        .collect();
    assert!(
        missing_fn.is_empty() && missing_ty.is_empty(),
        "docs/c-abi.md lacks a heading (### `name`) for functions {missing_fn:?} and a mention \
         (`name`) of types {missing_ty:?}"
    );
}

/// One `#[derive(Deserialize)]` struct of the config: its name, whether it
/// renames to camelCase, and its fields (wire name, type text).
struct ConfigStruct {
    name: String,
    fields: Vec<(String, String)>,
}

fn camel(snake: &str) -> String {
    let mut out = String::new();
    let mut upper = false;
    for c in snake.chars() {
        if c == '_' {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

/// The deserialized structs of the config module(s), fields with their wire names.
fn config_structs() -> Vec<ConfigStruct> {
    let mut paths: Vec<PathBuf> = files_under(&root().join("src/config"), ".rs");
    if root().join("src/config.rs").exists() {
        paths.push(root().join("src/config.rs"));
    }
    let mut out = Vec::new();
    for path in paths {
        let toks = without_test_modules(lex(&read(&path)));
        let mut i = 0;
        // Attributes seen since the last item: (derives Deserialize, camelCase).
        let mut deserialize = false;
        let mut camel_case = false;
        while i < toks.len() {
            if toks[i] == Tok::Punct('#') && toks.get(i + 1) == Some(&Tok::Punct('[')) {
                let close = closing_paren(&toks, i + 1);
                let attr = &toks[i + 1..close];
                if attr.iter().any(|t| is_ident(t, "Deserialize")) {
                    deserialize = true;
                }
                if attr.iter().any(|t| *t == Tok::Str("camelCase".into())) {
                    camel_case = true;
                }
                i = close + 1;
                continue;
            }
            if is_ident(&toks[i], "struct") && deserialize {
                let Some(Tok::Ident(name)) = toks.get(i + 1) else {
                    i += 1;
                    continue;
                };
                let open = i + toks[i..]
                    .iter()
                    .position(|t| *t == Tok::Punct('{'))
                    .expect("struct body");
                let close = closing_paren(&toks, open);
                let mut fields = Vec::new();
                let mut k = open + 1;
                let mut rename: Option<String> = None;
                let mut skip = false;
                while k < close {
                    if toks[k] == Tok::Punct('#') {
                        let attr_close = closing_paren(&toks, k + 1);
                        let attr = &toks[k + 1..attr_close];
                        if let Some(p) = attr.iter().position(|t| is_ident(t, "rename")) {
                            if let Some(Tok::Str(s)) = attr.get(p + 2) {
                                rename = Some(s.clone());
                            }
                        }
                        if attr.iter().any(|t| is_ident(t, "skip") || is_ident(t, "flatten")) {
                            skip = true;
                        }
                        k = attr_close + 1;
                        continue;
                    }
                    if let (Some(Tok::Ident(field)), Some(Tok::Punct(':'))) = (toks.get(k), toks.get(k + 1)) {
                        if toks.get(k + 2) != Some(&Tok::Punct(':')) && field != "pub" {
                            // The type runs to the next `,` at depth 0.
                            let mut depth = 0i32;
                            let mut e = k + 2;
                            let mut ty = String::new();
                            while e < close {
                                match &toks[e] {
                                    Tok::Punct('<') | Tok::Punct('(') => depth += 1,
                                    Tok::Punct('>') | Tok::Punct(')') => depth -= 1,
                                    Tok::Punct(',') if depth == 0 => break,
                                    _ => {}
                                }
                                if let Tok::Ident(s) = &toks[e] {
                                    ty.push_str(s);
                                    ty.push(' ');
                                }
                                e += 1;
                            }
                            if !skip {
                                let wire =
                                    rename
                                        .take()
                                        .unwrap_or_else(|| if camel_case { camel(field) } else { field.clone() });
                                fields.push((wire, ty));
                            }
                            rename = None;
                            skip = false;
                            k = e + 1;
                            continue;
                        }
                    }
                    k += 1;
                }
                out.push(ConfigStruct {
                    name: name.clone(),
                    fields,
                });
                deserialize = false;
                camel_case = false;
                i = close + 1;
                continue;
            }
            if matches!(&toks[i], Tok::Ident(s) if s == "fn" || s == "enum" || s == "impl" || s == "struct") {
                deserialize = false;
                camel_case = false;
            }
            i += 1;
        }
    }
    out
}

/// Every config field as a dotted path from the root struct.
fn config_fields() -> Vec<String> {
    let structs = config_structs();
    let referenced = |name: &str| {
        structs
            .iter()
            .any(|s| s.fields.iter().any(|(_, ty)| ty.split(' ').any(|w| w == name)))
    };
    let roots: Vec<&ConfigStruct> = structs.iter().filter(|s| !referenced(&s.name)).collect();
    assert!(!roots.is_empty(), "no root config struct found");
    fn walk(s: &ConfigStruct, prefix: &str, all: &[ConfigStruct], out: &mut Vec<String>, depth: usize) {
        for (wire, ty) in &s.fields {
            let path = format!("{prefix}{wire}");
            out.push(path.clone());
            let child = all
                .iter()
                .find(|c| ty.split(' ').any(|w| w == c.name) && !ty.starts_with("HashMap"));
            let keyed = ty.contains("HashMap") || ty.contains("BTreeMap");
            if let (Some(child), false, true) = (child, keyed, depth < 4) {
                walk(child, &format!("{path}."), all, out, depth + 1);
            }
        }
    }
    let mut out = Vec::new();
    for r in roots {
        walk(r, "", &structs, &mut out, 0);
    }
    out
}

#[test]
fn every_config_field_has_a_row_in_a_config_table() {
    let fields = config_fields();
    for known in ["appId", "networkTimeout.request", "domains.socket", "maxDownloadBytes"] {
        assert!(
            fields.iter().any(|f| f == known),
            "the config scan no longer finds {known}: found {fields:?}"
        );
    }
    let cells = first_cells(&all_docs());
    let missing: Vec<_> = fields.iter().filter(|f| !cells.contains(f.as_str())).collect();
    assert!(
        missing.is_empty(),
        "app config fields without a row (`| `field` | …`) in docs/behaviour.md's config table: {missing:?}"
    );
}

/// `](target)` links of a Markdown text that point into the repository.
fn relative_links(md: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = md;
    while let Some(at) = rest.find("](") {
        let tail = &rest[at + 2..];
        let end = tail.find(')').unwrap_or(tail.len());
        let target = &tail[..end];
        if !target.contains("://") && !target.starts_with('#') && !target.starts_with("mailto:") {
            out.push(target.split('#').next().unwrap_or_default().to_owned());
        }
        rest = &tail[end..];
    }
    out
}

#[test]
fn readme_and_docs_link_only_to_files_in_the_repository() {
    let mut pages = files_under(&root().join("docs"), ".md");
    pages.push(root().join("README.md"));
    let mut broken = Vec::new();
    for page in &pages {
        let text = read(page);
        for outside in ["../shared", "/work/shared"] {
            if text.contains(outside) {
                broken.push(format!("{} mentions {outside}", page.display()));
            }
        }
        let dir = page.parent().expect("a page has a directory");
        for link in relative_links(&text) {
            if link.is_empty() {
                continue;
            }
            let target = dir.join(&link);
            let inside = target
                .canonicalize()
                .map(|t| t.starts_with(root().canonicalize().expect("root")))
                .unwrap_or(false);
            if !inside {
                broken.push(format!("{}: {link}", page.display()));
            }
        }
    }
    let readme = read(&root().join("README.md"));
    for page in ["docs/behaviour.md", "docs/c-abi.md"] {
        if !readme.contains(&format!("]({page}")) {
            broken.push(format!("README.md does not link {page}"));
        }
    }
    assert!(broken.is_empty(), "broken or outside links: {broken:?}");
}

#[test]
fn the_scanners_see_what_they_should() {
    // The lexer: comments, char literals, raw strings and escapes.
    let toks = lex(r####"a('"', r#"x"y"#, "q\"{e}\n", 'b', b"z") // "not me"
        /* "nor me" */ x<'a>"####);
    let strs: Vec<_> = toks
        .iter()
        .filter_map(|t| match t {
            Tok::Str(s) => Some(s.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(strs, ["x\"y", "q\"{e}\n", "z"]);
    assert_eq!(
        fixed_parts("parameter.{key} should be {want} instead of {}"),
        ["parameter", "should be", "instead of"]
    );
    assert_eq!(fixed_parts("{e}"), Vec::<String>::new());
    assert_eq!(camel("network_timeout"), "networkTimeout");
}
