//! The WordPiece tokenizer built from a Chinese vocab.txt, against transformers'
//! BertTokenizerFast on the same file.

use nlp_models::tokenizer::{BertTokenizer, decode_tokens};
use serde_json::Value;

use crate::fixtures;
use crate::minilm::check_cases;

fn zh() -> BertTokenizer {
    BertTokenizer::from_vocab(fixtures().join("random_mlm/vocab.txt"), true).unwrap()
}

#[test]
fn vocab_txt_tokenizer_matches_transformers() {
    let meta: Value = serde_json::from_str(
        &std::fs::read_to_string(fixtures().join("tokenizer_zh.json")).unwrap(),
    )
    .unwrap();
    check_cases(&zh(), &meta);
}

#[test]
fn offsets_map_tokens_back_to_the_original_text() {
    let tok = zh();
    let text = "Café 我爱北京，龘！";
    let enc = tok.encode(text, None, None).unwrap();
    let chars: Vec<char> = text.chars().collect();
    let pieces: Vec<String> = enc
        .offsets
        .iter()
        .zip(&enc.special)
        .filter(|(_, s)| !**s)
        .map(|(&(s, e), _)| chars[s..e].iter().collect())
        .collect();
    // "Café" lower-cased and accent-stripped is not in the vocabulary as a word: pieces; 龘 is [UNK]
    // but still maps to its character.
    assert!(
        pieces.contains(&"龘".to_string()),
        "{pieces:?} {:?}",
        enc.tokens
    );
    assert!(enc.tokens.contains(&"[UNK]".to_string()));
    assert_eq!(pieces.last().unwrap(), "！");
}

#[test]
fn decode_joins_chinese_without_spaces() {
    let tok = zh();
    let enc = tok.encode("我爱北京天安门。", None, None).unwrap();
    assert_eq!(tok.decode(&enc.ids), "我爱北京天安门。");
    let tokens: Vec<String> = ["hello", "world", "##s", "的", "ok"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(decode_tokens(&tokens), "hello worlds的ok");
}

#[test]
fn truncation_keeps_maxlen_and_drops_from_the_longer_text() {
    let tok = zh();
    let enc = tok
        .encode("一二三四五六七八", Some("九十"), Some(8))
        .unwrap();
    assert_eq!(enc.len(), 8);
    assert_eq!(enc.type_ids.iter().filter(|&&t| t == 1).count(), 3);
    assert!(tok.encode("一", Some("二"), Some(3)).is_err());
}
