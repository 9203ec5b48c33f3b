//! The BIO tag set of the NER models.

use std::collections::HashMap;

use super::peoples_daily::LABELS;

/// The BIO tags over [`LABELS`]: `O`, then `B-X`, `I-X` for each label.
pub fn bio_tag_names() -> Vec<String> {
    let mut tags = vec!["O".to_string()];
    for label in LABELS {
        tags.push(format!("B-{label}"));
        tags.push(format!("I-{label}"));
    }
    tags
}

/// Tag name → id for [`bio_tag_names`].
pub fn tag_ids(names: &[String]) -> HashMap<String, i64> {
    names
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as i64))
        .collect()
}
