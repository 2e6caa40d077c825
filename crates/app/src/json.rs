//! Reading JSON that clients send, with error codes that tell malformed JSON
//! (`malformed_json`) from unknown fields (`unknown_field`) and wrong values
//! (`invalid_field`), each with a Chinese message naming the field.

use serde::de::DeserializeOwned;

use crate::error::AppError;

/// The largest JSON body any use case reads.
pub const JSON_LIMIT: usize = 64 * 1024;

/// Parses JSON bytes; an empty body reads as `{}` (actions without fields).
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if bytes.len() > JSON_LIMIT {
        return Err(AppError::too_large("请求体过大"));
    }
    let bytes = if bytes.is_empty() { b"{}".as_slice() } else { bytes };
    serde_json::from_slice(bytes).map_err(json_error)
}

/// Reads an already-parsed JSON value as `T`, with the same error codes.
pub fn from_value<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, AppError> {
    serde_json::from_value(value).map_err(json_error)
}

fn json_error(e: serde_json::Error) -> AppError {
    use serde_json::error::Category;
    match e.classify() {
        Category::Syntax | Category::Eof | Category::Io => {
            AppError::bad_request("malformed_json", format!("JSON 格式错误（第{}行第{}列）", e.line(), e.column()))
        }
        Category::Data => {
            let text = e.to_string();
            if text.starts_with("unknown field") {
                let field = text.split('`').nth(1).unwrap_or("?");
                AppError::bad_request("unknown_field", format!("不认识的字段「{field}」"))
            } else {
                AppError::invalid("invalid_field", format!("字段内容不正确：{}", translate_serde(&text)))
            }
        }
    }
}

/// Turns serde's English into a short Chinese hint, keeping the field name.
fn translate_serde(text: &str) -> String {
    let field = text.split('`').nth(1).unwrap_or("");
    let text = text.split(" at line").next().unwrap_or(text);
    if text.starts_with("missing field") {
        format!("缺少必填字段「{field}」")
    } else if text.starts_with("unknown variant") {
        format!("「{field}」不是可选的取值")
    } else if text.starts_with("invalid type") {
        format!("字段类型不正确（{text}）")
    } else {
        text.to_owned()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        reason: String,
    }

    #[test]
    fn errors_name_their_kind() {
        let code = |bytes: &[u8]| parse_json::<Body>(bytes).unwrap_err().code;
        assert_eq!(code(b"{"), "malformed_json");
        assert_eq!(code(br#"{"reason":"x","y":1}"#), "unknown_field");
        assert_eq!(code(b"{}"), "invalid_field");
        assert_eq!(code(br#"{"reason":5}"#), "invalid_field");
        assert_eq!(code(&vec![b' '; JSON_LIMIT + 1]), "payload_too_large");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_are_refused_with_a_code_never_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Err(e) = parse_json::<Body>(&bytes) {
                prop_assert!(!e.code.is_empty() && !e.message.is_empty());
            }
        }
    }
}
