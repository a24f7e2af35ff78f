//! A report as plain data ([`Doc`]: headings, paragraphs, lists, tables, figures, code) and
//! its two renderings: Markdown with linked charts, and one self-contained HTML file with
//! the charts embedded as PNG data URIs.
//!
//! The content is written once (see `content`) and rendered twice, so `report.md` and
//! `report.html` always say the same thing.
//!
//! Inline markup is limited to `**bold**` and `` `code` `` spans, rendered by both.
//!
//! Deliberately left out: any JavaScript beyond one line that reports whether every chart
//! image decoded (used by the browser test), and external resources of any kind.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;

#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading(u8, String),
    Para(String),
    List(Vec<String>),
    /// A table; the first column is a row header.
    Table {
        header: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// A chart: `<stem>.png` / `<stem>.svg` in the charts folder.
    Figure {
        stem: String,
        title: String,
        caption: String,
    },
    Code(String),
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Doc {
    pub title: String,
    pub blocks: Vec<Block>,
}

impl Doc {
    pub fn push(&mut self, b: Block) {
        self.blocks.push(b);
    }

    pub fn heading(&mut self, level: u8, text: impl Into<String>) {
        self.push(Block::Heading(level, text.into()));
    }

    pub fn para(&mut self, text: impl Into<String>) {
        self.push(Block::Para(text.into()));
    }
}

/// Markdown, with charts linked from `charts_dir` (relative to the report).
pub fn markdown(doc: &Doc, charts_dir: &str) -> String {
    let mut out = format!("# {}\n", doc.title);
    for b in &doc.blocks {
        out.push('\n');
        match b {
            Block::Heading(level, text) => {
                let _ = writeln!(out, "{} {text}", "#".repeat(*level as usize + 1));
            }
            Block::Para(text) => {
                let _ = writeln!(out, "{text}");
            }
            Block::List(items) => {
                for i in items {
                    let _ = writeln!(out, "- {i}");
                }
            }
            Block::Table { header, rows } => {
                let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
                let _ = writeln!(
                    out,
                    "| {} |",
                    header
                        .iter()
                        .map(|h| cell(h))
                        .collect::<Vec<_>>()
                        .join(" | ")
                );
                let _ = writeln!(out, "|{}", "---|".repeat(header.len()));
                for r in rows {
                    let _ = writeln!(
                        out,
                        "| {} |",
                        r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
                    );
                }
            }
            Block::Figure {
                stem,
                title,
                caption,
            } => {
                let _ = writeln!(
                    out,
                    "![{title}]({charts_dir}/{stem}.png)\n\n*{caption}* ([SVG]({charts_dir}/{stem}.svg))"
                );
            }
            Block::Code(text) => {
                let _ = writeln!(out, "```\n{}\n```", text.trim_end());
            }
        }
    }
    out
}

/// Escapes text for HTML.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes `s` and renders its `**bold**` and `` `code` `` spans.
fn inline(s: &str) -> String {
    let mut out = String::new();
    let (mut bold, mut code) = (false, false);
    let mut rest = s;
    while !rest.is_empty() {
        if !code && rest.starts_with("**") {
            out.push_str(if bold { "</strong>" } else { "<strong>" });
            bold = !bold;
            rest = &rest[2..];
        } else if rest.starts_with('`') {
            out.push_str(if code { "</code>" } else { "<code>" });
            code = !code;
            rest = &rest[1..];
        } else {
            let next = rest
                .char_indices()
                .skip(1)
                .find(|&(i, c)| c == '`' || (!code && rest[i..].starts_with("**")))
                .map_or(rest.len(), |(i, _)| i);
            out.push_str(&esc(&rest[..next]));
            rest = &rest[next..];
        }
    }
    if code {
        out.push_str("</code>");
    }
    if bold {
        out.push_str("</strong>");
    }
    out
}

const CSS: &str = "body{font-family:-apple-system,'Segoe UI',Helvetica,Arial,sans-serif;\
max-width:1320px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}\
h1{font-size:1.9em}h2{margin-top:1.8em;border-bottom:1px solid #ddd}\
table{border-collapse:collapse;margin:1em 0;font-size:.92em}\
th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left;vertical-align:top}\
th{background:#f3f3f3}td:first-child{font-weight:600;background:#fafafa}\
figure{margin:1.5em 0}figure img{max-width:100%;border:1px solid #eee}\
figcaption{color:#444;font-size:.95em}code,pre{background:#f6f6f6;font-size:.9em}\
pre{padding:.8em;overflow-x:auto}.status{color:#888;font-size:.8em}";

/// One self-contained HTML file; `png` holds each figure's PNG bytes by stem (a figure
/// without bytes is rendered as its caption only).
pub fn html(doc: &Doc, png: &BTreeMap<String, Vec<u8>>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{}</title>\n<style>{CSS}</style>\n</head>\n<body>\n<h1>{}</h1>\n",
        esc(&doc.title),
        esc(&doc.title)
    );
    for b in &doc.blocks {
        match b {
            Block::Heading(level, text) => {
                let l = level + 1;
                let _ = writeln!(out, "<h{l}>{}</h{l}>", inline(text));
            }
            Block::Para(text) => {
                let _ = writeln!(out, "<p>{}</p>", inline(text));
            }
            Block::List(items) => {
                out.push_str("<ul>\n");
                for i in items {
                    let _ = writeln!(out, "<li>{}</li>", inline(i));
                }
                out.push_str("</ul>\n");
            }
            Block::Table { header, rows } => {
                out.push_str("<table>\n<tr>");
                for h in header {
                    let _ = write!(out, "<th>{}</th>", inline(h));
                }
                out.push_str("</tr>\n");
                for r in rows {
                    out.push_str("<tr>");
                    for c in r {
                        let _ = write!(out, "<td>{}</td>", inline(c));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</table>\n");
            }
            Block::Figure {
                stem,
                title,
                caption,
            } => {
                out.push_str("<figure>\n");
                if let Some(bytes) = png.get(stem) {
                    let _ = writeln!(
                        out,
                        "<img class=\"chart\" alt=\"{}\" src=\"data:image/png;base64,{}\">",
                        esc(title),
                        base64::engine::general_purpose::STANDARD.encode(bytes)
                    );
                }
                let _ = writeln!(
                    out,
                    "<figcaption><strong>{}.</strong> {}</figcaption>\n</figure>",
                    esc(title),
                    inline(caption)
                );
            }
            Block::Code(text) => {
                let _ = writeln!(out, "<pre><code>{}</code></pre>", esc(text.trim_end()));
            }
        }
    }
    out.push_str(
        "<p class=\"status\" id=\"chart-status\">charts not checked (JavaScript off)</p>\n\
         <script>addEventListener('load',function(){var i=document.querySelectorAll('img.chart'),\
         n=0;i.forEach(function(x){if(x.complete&&x.naturalWidth>0)n++});\
         document.getElementById('chart-status').textContent=n+' of '+i.length+' charts shown';});\
         </script>\n</body>\n</html>\n",
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc() -> Doc {
        let mut d = Doc {
            title: "T <1>".into(),
            ..Doc::default()
        };
        d.heading(1, "Section");
        d.para("a **bold** and `co<de>` word");
        d.push(Block::Table {
            header: vec!["".into(), "raft".into()],
            rows: vec![vec!["p50".into(), "3 | 4 ms".into()]],
        });
        d.push(Block::Figure {
            stem: "cost".into(),
            title: "Cost".into(),
            caption: "bars".into(),
        });
        d
    }

    #[test]
    fn markdown_links_charts_and_escapes_table_cells() {
        let md = markdown(&doc(), "charts");
        assert!(md.starts_with("# T <1>\n\n## Section\n"));
        assert!(md.contains("| p50 | 3 \\| 4 ms |"));
        assert!(md.contains("![Cost](charts/cost.png)"));
        assert!(md.contains("([SVG](charts/cost.svg))"));
    }

    #[test]
    fn html_embeds_charts_and_escapes_text() {
        let mut png = BTreeMap::new();
        png.insert("cost".to_string(), vec![1u8, 2, 3]);
        let h = html(&doc(), &png);
        assert!(h.contains("<title>T &lt;1&gt;</title>"));
        assert!(h.contains("<p>a <strong>bold</strong> and <code>co&lt;de&gt;</code> word</p>"));
        assert!(h.contains("src=\"data:image/png;base64,AQID\""));
        assert!(!h.contains("http"), "no external resource");
    }

    #[test]
    fn inline_spans_close_even_when_unbalanced() {
        assert_eq!(inline("**a"), "<strong>a</strong>");
        assert_eq!(inline("`a**b`"), "<code>a**b</code>");
        assert_eq!(inline("x < y"), "x &lt; y");
    }
}
