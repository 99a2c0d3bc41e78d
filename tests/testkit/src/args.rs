//! A benchmark's command line: `--name value` options and `--flag`s, read among whatever
//! else is there (`cargo bench` adds `--bench`, which a strict parser would refuse).

/// The process's arguments.
pub struct Args(Vec<String>);

impl Args {
    pub fn from_env() -> Args {
        Args(std::env::args().collect())
    }

    /// Whether `--name` is given.
    pub fn flag(&self, name: &str) -> bool {
        self.0.iter().any(|a| a == name)
    }

    /// The argument after `name`.
    pub fn text(&self, name: &str) -> Option<&str> {
        let at = self.0.iter().position(|a| a == name)?;
        self.0.get(at + 1).map(String::as_str)
    }

    /// The number after `name`; one that does not parse stops the run with its name.
    pub fn number(&self, name: &str) -> Option<f64> {
        self.text(name).map(|v| {
            v.parse::<f64>()
                .unwrap_or_else(|_| panic!("{name} takes a number, not {v:?}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::Args;

    fn args(line: &str) -> Args {
        Args(line.split_whitespace().map(str::to_owned).collect())
    }

    #[test]
    fn reads_flags_texts_and_numbers_among_other_arguments() {
        let args = args("bench --bench --quick --records 400000 --only stats");
        assert!(args.flag("--quick") && !args.flag("--verbose"));
        assert_eq!(args.number("--records"), Some(400_000.0));
        assert_eq!(args.text("--only"), Some("stats"));
        assert_eq!(args.number("--runs"), None);
    }

    #[test]
    #[should_panic(expected = "--runs takes a number")]
    fn a_number_that_does_not_parse_is_refused_by_name() {
        args("bench --runs three").number("--runs");
    }
}
