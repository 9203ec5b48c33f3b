//! Parameter selection by name.

use regex::RegexSet;

use crate::OptimError;

/// A set of regular expressions matched (anywhere, like Python's `re.search`) against a
/// parameter's module path, e.g. `encoder.layers.0.norm.gamma`.
///
/// bert4keras selects parameters the same way (`exclude_from_weight_decay=['Norm', 'bias']`).
/// Patterns are compiled when they are set; a bad pattern is reported by `validate`.
#[derive(Clone, Debug, Default)]
pub struct NamePatterns {
    patterns: Vec<String>,
    compiled: Option<Result<RegexSet, (String, regex::Error)>>,
}

impl NamePatterns {
    /// Compile `patterns`; an empty list matches nothing.
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Self {
        let patterns: Vec<String> = patterns.iter().map(|p| p.as_ref().to_string()).collect();
        if patterns.is_empty() {
            return Self::default();
        }
        let compiled = RegexSet::new(&patterns).map_err(|_| {
            // Find the first offending pattern for a precise message.
            patterns
                .iter()
                .find_map(|p| regex::Regex::new(p).err().map(|e| (p.clone(), e)))
                .unwrap_or_else(|| (patterns.join("|"), regex::Error::Syntax("invalid".into())))
        });
        Self {
            patterns,
            compiled: Some(compiled),
        }
    }

    /// Whether any pattern matches `path`. Invalid patterns match nothing (and fail `validate`).
    pub fn matches(&self, path: &str) -> bool {
        match &self.compiled {
            Some(Ok(set)) => set.is_match(path),
            _ => false,
        }
    }

    /// Index of the first pattern that matches `path`.
    pub fn first_match(&self, path: &str) -> Option<usize> {
        match &self.compiled {
            Some(Ok(set)) => set.matches(path).into_iter().next(),
            _ => None,
        }
    }

    /// The patterns as written.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Whether no pattern is set.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Report a pattern that failed to compile.
    pub fn validate(&self) -> Result<(), OptimError> {
        match &self.compiled {
            Some(Err((pattern, source))) => Err(OptimError::Pattern {
                pattern: pattern.clone(),
                source: source.clone(),
            }),
            _ => Ok(()),
        }
    }
}
