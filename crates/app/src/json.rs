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
    let value: serde_json::Value = serde_json::from_slice(bytes).map_err(json_error)?;
    refuse_control_characters(&value)?;
    from_value(value)
}

/// Whether `c` is a control character no text input may hold; `\n`, `\r` and `\t` are allowed (in
/// multi-line text such as a request's content; single-line fields refuse them in their own checks).
pub fn is_refused_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\n' | '\r' | '\t')
}

/// The refusal of text holding a control character (a NUL byte and the like): PostgreSQL cannot store
/// one and no person types one, so every text input is checked at the boundary.
pub fn control_character() -> AppError {
    AppError::bad_request("control_character", "输入中含有不允许的控制字符（如 NUL）")
}

/// Refuses a JSON value with a control character in any string or key, at any depth.
fn refuse_control_characters(value: &serde_json::Value) -> Result<(), AppError> {
    use serde_json::Value;
    let bad = |s: &str| s.chars().any(is_refused_control);
    match value {
        Value::String(s) if bad(s) => Err(control_character()),
        Value::Array(items) => items.iter().try_for_each(refuse_control_characters),
        Value::Object(map) => map
            .iter()
            .try_for_each(|(k, v)| if bad(k) { Err(control_character()) } else { refuse_control_characters(v) }),
        _ => Ok(()),
    }
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
