//! Writes the flat JSON objects of string members that the POST requests send: a few lines
//! instead of a JSON library in the .wasm.

/// A JSON object under construction: `{"k":"v",...}`.
pub(super) struct JsonObject {
    text: String,
}

impl JsonObject {
    /// An empty object with room for about `capacity` bytes.
    pub(super) fn with_capacity(capacity: usize) -> Self {
        let mut text = String::with_capacity(capacity);
        text.push('{');
        JsonObject { text }
    }

    /// Adds the member `key: value`, both written as JSON strings.
    pub(super) fn string(&mut self, key: &str, value: &str) -> &mut Self {
        if self.text.len() > 1 {
            self.text.push(',');
        }
        push_string(&mut self.text, key);
        self.text.push(':');
        push_string(&mut self.text, value);
        self
    }

    /// The finished object.
    pub(super) fn finish(mut self) -> String {
        self.text.push('}');
        self.text
    }
}

/// Writes `value` as a JSON string: quotes, backslashes and control characters below U+0020
/// escaped, everything else (non-ASCII included) as UTF-8.
fn push_string(out: &mut String, value: &str) {
    out.push('"');
    for character in value.chars() {
        match character {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            control if control < ' ' => {
                let code = u32::from(control);
                out.push_str("\\u00");
                out.push(char::from_digit(code >> 4, 16).unwrap_or('0'));
                out.push(char::from_digit(code & 0xf, 16).unwrap_or('0'));
            }
            other => out.push(other),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(members: &[(&str, &str)]) -> String {
        let mut object = JsonObject::with_capacity(16);
        for (key, value) in members {
            object.string(key, value);
        }
        object.finish()
    }

    #[test]
    fn writes_members_in_order() {
        assert_eq!(object(&[]), "{}");
        assert_eq!(object(&[("a", "1")]), r#"{"a":"1"}"#);
        assert_eq!(
            object(&[("appId", "IDA1"), ("name", "张三")]),
            r#"{"appId":"IDA1","name":"张三"}"#
        );
    }

    #[test]
    fn escapes_what_json_requires_and_nothing_else() {
        let written = object(&[(
            "k\"",
            "q\" b\\ n\n r\r t\t \u{8}\u{c} \u{0}\u{1f}\u{10} \u{7f}é😀/",
        )]);
        assert_eq!(
            written,
            "{\"k\\\"\":\"q\\\" b\\\\ n\\n r\\r t\\t \\b\\f \\u0000\\u001f\\u0010 \u{7f}é😀/\"}"
        );
    }

    #[cfg(not(target_arch = "wasm32"))]
    proptest::proptest! {
        #[test]
        fn any_text_round_trips_through_a_json_parser(
            key in "\\PC{0,8}|[\\x00-\\x7f]{0,8}",
            value in "(\\PC|[\\x00-\\x1f\"\\\\]){0,40}",
        ) {
            proptest::prop_assume!(key != "next");
            let written = object(&[(key.as_str(), value.as_str()), ("next", "x")]);
            let parsed: serde_json::Value = serde_json::from_str(&written).unwrap();
            proptest::prop_assert_eq!(parsed.get(&key).and_then(|v| v.as_str()), Some(value.as_str()));
            proptest::prop_assert_eq!(parsed.get("next").and_then(|v| v.as_str()), Some("x"));
        }
    }
}
