//! The search query language: tantivy's query grammar, checked against the fields a
//! user may name and against bounds on size and complexity before it runs.
//!
//! The account and time filters are not part of this language: they are added around
//! the parsed query by [`PivotIndex::search`](crate::PivotIndex::search), so no query
//! text can widen them.

use tantivy::query::{EnableScoring, Query, QueryParser, Weight};
use tantivy::query_grammar::{self, Occur, UserInputAst, UserInputLeaf};
use tantivy::Term;

use crate::slice::Slice;

/// Longest query, in bytes.
pub const MAX_QUERY_BYTES: usize = 2048;
/// Most terms, phrases, ranges and set elements in one query.
pub const MAX_QUERY_CLAUSES: usize = 64;
/// Deepest nesting of parentheses.
pub const MAX_QUERY_DEPTH: usize = 8;

/// Fields a query may name. Unnamed terms search `body`.
pub const SEARCHABLE_FIELDS: [&str; 10] = [
    "body",
    "request_body",
    "response_headers",
    "uri",
    "method",
    "status_code",
    "call_id",
    "iteration",
    "kind",
    "signature",
];

/// Kazoo's names for the same fields, accepted as aliases.
const KAZOO_ALIASES: [(&str, &str); 3] = [
    ("resp_body", "body"),
    ("req_body", "request_body"),
    ("resp_headers", "response_headers"),
];

/// Why a query was refused, and where (a byte offset into the query, when known).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct QueryError {
    pub message: String,
    pub position: Option<usize>,
}

impl QueryError {
    fn new(message: impl Into<String>, position: Option<usize>) -> QueryError {
        QueryError {
            message: message.into(),
            position,
        }
    }
}

/// A parsed, validated query, ready to be scoped to an account and run.
pub struct UserQuery {
    pub(crate) query: Box<dyn Query>,
}

impl std::fmt::Debug for UserQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "UserQuery({:?})", self.query)
    }
}

impl UserQuery {
    /// Parses `text`; every way it can be wrong is a [`QueryError`], never a panic.
    pub(crate) fn parse(index: &Slice, text: &str) -> Result<UserQuery, QueryError> {
        if text.trim().is_empty() {
            return Err(QueryError::new(
                "the query is empty (use * to match every record)",
                Some(0),
            ));
        }
        if text.len() > MAX_QUERY_BYTES {
            return Err(QueryError::new(
                format!("the query is longer than {MAX_QUERY_BYTES} bytes"),
                Some(MAX_QUERY_BYTES),
            ));
        }
        // Checked before parsing: the grammar is recursive.
        check_nesting(text)?;
        let (_, errors) = query_grammar::parse_query_lenient(text);
        if let Some(first) = errors.into_iter().next() {
            return Err(QueryError::new(
                format!("syntax error: {}", first.message),
                Some(first.pos),
            ));
        }
        let mut ast = query_grammar::parse_query(text).map_err(|_| QueryError::new("syntax error", None))?;
        let mut clauses = 0;
        check_ast(&mut ast, text, &mut clauses)?;

        let fields = index.fields();
        let mut parser = QueryParser::for_index(index.tantivy_index(), vec![fields.body]);
        parser.set_conjunction_by_default();
        let query = parser
            .build_query_from_user_input_ast(ast)
            .map_err(|err| QueryError::new(err.to_string(), None))?;
        Ok(UserQuery {
            query: Box::new(StatusRangesByPostings { query }),
        })
    }
}

/// Refuses parentheses nested deeper than [`MAX_QUERY_DEPTH`] (outside quotes).
fn check_nesting(text: &str) -> Result<(), QueryError> {
    let mut depth = 0usize;
    let mut in_quotes = false;
    let mut escaped = false;
    for (position, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => in_quotes = !in_quotes,
            '(' if !in_quotes => {
                depth += 1;
                if depth > MAX_QUERY_DEPTH {
                    return Err(QueryError::new(
                        format!("parentheses are nested deeper than {MAX_QUERY_DEPTH} levels"),
                        Some(position),
                    ));
                }
            }
            ')' if !in_quotes => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

fn check_ast(ast: &mut UserInputAst, text: &str, clauses: &mut usize) -> Result<(), QueryError> {
    match ast {
        UserInputAst::Clause(children) => {
            children
                .iter_mut()
                .try_for_each(|(_, child)| check_ast(child, text, clauses))?;
            // `-word` alone means every record but those, as in Lucene's syntax.
            if !children.is_empty() && children.iter().all(|(occur, _)| *occur == Some(Occur::MustNot)) {
                children.push((
                    Some(Occur::Must),
                    UserInputAst::Leaf(Box::new(UserInputLeaf::All)),
                ));
            }
            Ok(())
        }
        UserInputAst::Boost(child, _) => check_ast(child, text, clauses),
        UserInputAst::Leaf(leaf) => {
            *clauses += match leaf.as_ref() {
                UserInputLeaf::Set { elements, .. } => elements.len().max(1),
                _ => 1,
            };
            if *clauses > MAX_QUERY_CLAUSES {
                return Err(QueryError::new(
                    format!("the query has more than {MAX_QUERY_CLAUSES} terms, phrases and ranges"),
                    None,
                ));
            }
            check_leaf(leaf, text)
        }
    }
}

fn check_leaf(leaf: &mut UserInputLeaf, text: &str) -> Result<(), QueryError> {
    match leaf {
        UserInputLeaf::Literal(literal) => {
            check_field(&mut literal.field_name, text)?;
            if literal.field_name.as_deref() == Some("signature") {
                literal.phrase = signature_term(&literal.phrase, text)?;
            }
            Ok(())
        }
        UserInputLeaf::Set {
            field: Some(field),
            elements,
        } if field == "signature" => elements
            .iter_mut()
            .try_for_each(|element| signature_term(element, text).map(|term| *element = term)),
        UserInputLeaf::All => Ok(()),
        UserInputLeaf::Range { field: None, .. } => Err(QueryError::new(
            "a range needs a field, e.g. status_code:[500 TO 599]",
            text.find(['[', '{']),
        )),
        UserInputLeaf::Range { field, .. } | UserInputLeaf::Set { field, .. } => check_field(field, text),
        UserInputLeaf::Exists { field } => {
            let mut named = Some(std::mem::take(field));
            check_field(&mut named, text)?;
            *field = named.unwrap_or_default();
            Ok(())
        }
        UserInputLeaf::Regex { .. } => Err(QueryError::new(
            "regular expressions are not supported",
            text.find('/'),
        )),
    }
}

/// A `signature:` value as the index holds it: the API's 16 hex digits, as a number.
fn signature_term(value: &str, text: &str) -> Result<String, QueryError> {
    crate::signature::parse_id(value)
        .map(|id| id.to_string())
        .ok_or_else(|| {
            QueryError::new(
                format!("`{value}` is not a signature (16 hex digits, as the signatures API gives them)"),
                text.find(value),
            )
        })
}

/// Resolves Kazoo aliases and refuses every field outside [`SEARCHABLE_FIELDS`]
/// (internal fields such as `account_id` included).
fn check_field(field: &mut Option<String>, text: &str) -> Result<(), QueryError> {
    let Some(name) = field.as_deref() else {
        return Ok(());
    };
    if let Some((_, canonical)) = KAZOO_ALIASES.iter().find(|(alias, _)| *alias == name) {
        *field = Some((*canonical).to_owned());
        return Ok(());
    }
    if SEARCHABLE_FIELDS.contains(&name) {
        return Ok(());
    }
    Err(QueryError::new(
        format!(
            "unknown field `{name}`: searchable fields are {}; quote text that contains ':' \
             (e.g. \"10.0.0.5:5432\")",
            SEARCHABLE_FIELDS.join(", ")
        ),
        text.find(&format!("{name}:")),
    ))
}

/// A user query whose ranges on `status_code` (`status_code:>=400`) run through the
/// inverted index when no score is wanted (stats, signatures, time-ordered pages).
/// tantivy answers a range on a fast field from the column, and `status_code` is an
/// optional column (requests and errors have none): every seek of the intersection
/// with the account's postings then maps a document to its row through the optional
/// index, a binary search in the sparse blocks of a small segment (half of a stats
/// read's time over a settled month, profiled). The postings of the handful of status
/// codes in the range give the same documents.
#[derive(Debug)]
struct StatusRangesByPostings {
    query: Box<dyn Query>,
}

impl Clone for StatusRangesByPostings {
    fn clone(&self) -> Self {
        StatusRangesByPostings {
            query: self.query.box_clone(),
        }
    }
}

impl Query for StatusRangesByPostings {
    fn weight(&self, scoring: EnableScoring<'_>) -> tantivy::Result<Box<dyn Weight>> {
        match scoring {
            EnableScoring::Disabled { searcher_opt, .. } => self.query.weight(EnableScoring::Disabled {
                schema: crate::schema::status_by_postings(),
                searcher_opt,
            }),
            enabled => self.query.weight(enabled),
        }
    }

    fn query_terms<'a>(&'a self, visitor: &mut dyn FnMut(&'a Term, bool)) {
        self.query.query_terms(visitor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<UserQuery, QueryError> {
        UserQuery::parse(&Slice::create_in_ram("test").unwrap(), text)
    }

    #[test]
    fn accepts_the_documented_forms() {
        for text in [
            "ECONNREFUSED",
            "\"404 Not Found\"",
            "psycopg2.OperationalError",
            "timeout AND NOT status_code:200",
            "(busy OR unavailable) -ringing",
            "status_code:[500 TO 599]",
            "status_code:>=500",
            "method:post uri:callflow",
            "kind:json_error",
            "iteration:2",
            "call_id:\"abc@10.0.0.1\"",
            "signature:00ff00ff00ff00ff",
            "signature:IN [00ff00ff00ff00ff 0123456789ABCDEF]",
            "resp_body:error req_body:Caller-ID-Number",
            "response_headers:\"content-type: text/html\"",
            "*",
        ] {
            assert!(parse(text).is_ok(), "{text}: {:?}", parse(text).err());
        }
    }

    #[test]
    fn refusals_say_why_and_where() {
        let err = parse("error account_id:0123").unwrap_err();
        assert!(err.message.contains("unknown field `account_id`"), "{err:?}");
        assert_eq!(err.position, Some(6));
        let err = parse("10.0.0.5:5432").unwrap_err();
        assert!(err.message.contains("quote text"), "{err:?}");
        let err = parse(&"(".repeat(9)).unwrap_err();
        assert_eq!(err.position, Some(8));
        let many: Vec<String> = (0..65).map(|i| format!("w{i}")).collect();
        assert!(parse(&many.join(" "))
            .unwrap_err()
            .message
            .contains("more than 64"));
        assert!(parse(&"a".repeat(2049)).is_err());
        assert!(parse("   ").is_err());
        assert!(parse("body:/err.*/").is_err());
        assert!(parse("[1 TO 5]").unwrap_err().message.contains("needs a field"));
        let err = parse("timeout signature:12345").unwrap_err();
        assert!(err.message.contains("16 hex digits"), "{err:?}");
        assert_eq!(err.position, Some(18));
    }
}
