//! A model file checked, before Burn decodes it, for what Burn's decoder trusts and panics on.
//!
//! Burn converts each tensor's bytes to the record's float type as it reads them, trusting
//! them to hold `shape`'s product of `dtype`'s elements, and decodes each parameter's id
//! expecting base32 or a UUID. This reads the MessagePack document into a plain tree first,
//! without building any tensor, and checks every value that Burn would read as a tensor
//! (`TensorData`) or a parameter (`ParamSerde`). Files this crate writes name every field
//! (string keys); a map keyed otherwise is refused, so that a struct can only be met by its
//! field names or, for the two types above, as an array of its fields.

use std::fmt;

use burn::tensor::DType;
use serde::de::{self, MapAccess, SeqAccess, Visitor};
use serde::ser::{self, SerializeMap, SerializeSeq};

/// The most dimensions a LeNet-5 parameter has (a convolution's kernels).
const MAX_RANK: usize = 4;

/// Byte strings longer than this are kept as their length only: map keys and type names are
/// shorter, tensors' bytes much longer.
const KEPT_BYTES: usize = 32;

/// Ok when every tensor in the MessagePack document `bytes` is a float tensor whose bytes fit
/// its shape and type; otherwise what is wrong, for [`crate::LeNetError::Decode`].
pub(super) fn check(bytes: &[u8]) -> Result<(), String> {
    let document: Value = rmp_serde::from_slice(bytes)
        .map_err(|error| format!("not a complete MessagePack file ({error})"))?;
    document.check()
}

/// A MessagePack value, with long byte strings reduced to their length.
#[derive(Debug, PartialEq)]
enum Value {
    Nil,
    Bool(bool),
    Int(i128),
    Float(f64),
    Text(String),
    Bytes { len: usize, kept: Option<Vec<u8>> },
    Seq(Vec<Value>),
    Map(Vec<(Value, Value)>),
}

impl Value {
    /// Checks this value and everything inside it.
    fn check(&self) -> Result<(), String> {
        if let Some([bytes, shape, dtype]) = self.tensor_fields() {
            return check_tensor(bytes, shape, dtype);
        }
        if let Some(id) = self.param_id() {
            check_param_id(id)?;
        }
        match self {
            Value::Seq(items) => items.iter().try_for_each(Value::check),
            Value::Map(entries) => entries.iter().try_for_each(|(key, value)| match key {
                Value::Text(_) => value.check(),
                _ => Err(format!("a field named {key:?}, not by a name")),
            }),
            _ => Ok(()),
        }
    }

    /// The id of a value Burn reads as a parameter: a map with the fields `id` and `param`,
    /// or an array of two whose first is text.
    fn param_id(&self) -> Option<&Value> {
        match self {
            Value::Map(entries) => {
                let has = |name: &str| entries.iter().any(|(key, _)| key.names(name, -1));
                if !has("param") {
                    return None;
                }
                let id = entries.iter().find(|(key, _)| key.names("id", -1));
                Some(id.map_or(&Value::Nil, |(_, id)| id))
            }
            Value::Seq(items) => match items.as_slice() {
                [id @ (Value::Text(_) | Value::Bytes { .. }), _] => Some(id),
                _ => None,
            },
            _ => None,
        }
    }

    /// The bytes, shape and dtype of a value Burn reads as a `TensorData`: a map with the
    /// three fields (by name or index), or an array of at least three whose first can be read
    /// as bytes and whose third as a type.
    fn tensor_fields(&self) -> Option<[&Value; 3]> {
        match self {
            Value::Map(entries) => {
                let field = |name: &str, index: i128| {
                    entries
                        .iter()
                        .find_map(|(key, value)| key.names(name, index).then_some(value))
                };
                let fields = [field("bytes", 0), field("shape", 1), field("dtype", 2)];
                if fields.iter().all(Option::is_none) {
                    return None;
                }
                // A map with some of the fields and not the others is no tensor Burn can read;
                // the nil stands for the missing one, which the check refuses.
                Some(fields.map(|field| field.unwrap_or(&Value::Nil)))
            }
            Value::Seq(items) => match items.as_slice() {
                [
                    bytes @ (Value::Bytes { .. } | Value::Text(_) | Value::Seq(_)),
                    shape,
                    dtype @ (Value::Text(_) | Value::Int(_) | Value::Map(_)),
                    ..,
                ] => Some([bytes, shape, dtype]),
                _ => None,
            },
            _ => None,
        }
    }

    /// Whether this map key names the field `name` at position `index`.
    fn names(&self, name: &str, index: i128) -> bool {
        match self {
            Value::Text(text) => text == name,
            Value::Bytes {
                kept: Some(kept), ..
            } => kept == name.as_bytes(),
            Value::Int(value) => *value == index,
            _ => false,
        }
    }
}

/// A parameter's id decodes as Burn decodes it: base32 of at most 8 bytes, or else a UUID.
fn check_param_id(id: &Value) -> Result<(), String> {
    let valid = |text: &str| match data_encoding::BASE32_DNSSEC.decode(text.as_bytes()) {
        Ok(bytes) => bytes.len() <= 8,
        Err(_) => uuid::Uuid::try_parse(text).is_ok(),
    };
    match id {
        Value::Text(text) if valid(text) => Ok(()),
        Value::Bytes {
            kept: Some(bytes), ..
        } if std::str::from_utf8(bytes).is_ok_and(valid) => Ok(()),
        _ => Err(format!("a parameter with the id {id:?}")),
    }
}

fn check_tensor(bytes: &Value, shape: &Value, dtype: &Value) -> Result<(), String> {
    let bytes = match bytes {
        Value::Bytes { len, .. } => *len,
        Value::Text(text) => text.len(),
        Value::Seq(items) => items.len(),
        _ => return Err("a tensor without its bytes".into()),
    };
    let shape: Vec<u64> = match shape {
        // A short byte string reads as a list of small sizes.
        Value::Bytes {
            kept: Some(sides), ..
        } => sides.iter().map(|&side| u64::from(side)).collect(),
        Value::Seq(sides) => sides
            .iter()
            .map(|side| match side {
                Value::Int(side) => u64::try_from(*side).ok(),
                _ => None,
            })
            .collect::<Option<_>>()
            .ok_or("a tensor whose shape is not a list of sizes")?,
        _ => return Err("a tensor without its shape".into()),
    };
    let encoded = rmp_serde::to_vec(dtype).map_err(|_| "a tensor without its type")?;
    let dtype: DType =
        rmp_serde::from_slice(&encoded).map_err(|_| "a tensor of an unknown type".to_string())?;
    if !matches!(dtype, DType::F64 | DType::F32 | DType::F16 | DType::BF16) {
        return Err(format!(
            "a tensor of {dtype:?}, where LeNet-5 has only floats"
        ));
    }
    if shape.is_empty() || shape.len() > MAX_RANK {
        return Err(format!("a tensor of shape {shape:?}"));
    }
    let needed = shape
        .iter()
        .try_fold(dtype.size() as u64, |total, &side| total.checked_mul(side));
    if needed != Some(bytes as u64) {
        return Err(format!(
            "a {dtype:?} tensor of shape {shape:?} holding {bytes} bytes"
        ));
    }
    Ok(())
}

impl<'de> de::Deserialize<'de> for Value {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ValueVisitor)
    }
}

struct ValueVisitor;

impl<'de> Visitor<'de> for ValueVisitor {
    type Value = Value;

    fn expecting(&self, formatter: &mut fmt::Formatter) -> fmt::Result {
        formatter.write_str("a MessagePack value")
    }

    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Nil)
    }

    fn visit_some<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        de::Deserialize::deserialize(deserializer)
    }

    fn visit_bool<E>(self, value: bool) -> Result<Value, E> {
        Ok(Value::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Value, E> {
        Ok(Value::Int(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Value, E> {
        Ok(Value::Int(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Value, E> {
        Ok(Value::Float(value))
    }

    fn visit_str<E>(self, value: &str) -> Result<Value, E> {
        Ok(Value::Text(value.to_owned()))
    }

    fn visit_bytes<E>(self, value: &[u8]) -> Result<Value, E> {
        Ok(Value::Bytes {
            len: value.len(),
            kept: (value.len() <= KEPT_BYTES).then(|| value.to_vec()),
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Seq(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut entries = Vec::new();
        while let Some(entry) = map.next_entry()? {
            entries.push(entry);
        }
        Ok(Value::Map(entries))
    }
}

/// Written back, so that Burn's own `DType` decoder reads a type exactly as Burn would.
impl ser::Serialize for Value {
    fn serialize<S: ser::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Value::Nil => serializer.serialize_unit(),
            Value::Bool(value) => serializer.serialize_bool(*value),
            Value::Int(value) => match i64::try_from(*value) {
                Ok(value) => serializer.serialize_i64(value),
                Err(_) => serializer.serialize_u64(*value as u64),
            },
            Value::Float(value) => serializer.serialize_f64(*value),
            Value::Text(text) => serializer.serialize_str(text),
            Value::Bytes {
                kept: Some(kept), ..
            } => serializer.serialize_bytes(kept),
            Value::Bytes { kept: None, .. } => Err(ser::Error::custom(
                "a long byte string where a type belongs",
            )),
            Value::Seq(items) => {
                let mut seq = serializer.serialize_seq(Some(items.len()))?;
                items
                    .iter()
                    .try_for_each(|item| seq.serialize_element(item))?;
                seq.end()
            }
            Value::Map(entries) => {
                let mut map = serializer.serialize_map(Some(entries.len()))?;
                for (key, value) in entries {
                    map.serialize_entry(key, value)?;
                }
                map.end()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tensor(bytes: usize, shape: &[i128], dtype: &str) -> Value {
        Value::Map(vec![
            (
                Value::Text("bytes".into()),
                Value::Bytes {
                    len: bytes,
                    kept: None,
                },
            ),
            (
                Value::Text("shape".into()),
                Value::Seq(shape.iter().map(|&side| Value::Int(side)).collect()),
            ),
            (Value::Text("dtype".into()), Value::Text(dtype.into())),
        ])
    }

    #[test]
    fn a_saved_network_passes() {
        let device = Default::default();
        for variant in [
            crate::Variant::Classic,
            crate::Variant::Keras,
            crate::Variant::LeCun1998,
        ] {
            let model = crate::LeNet5Config::new()
                .with_variant(variant)
                .init::<burn::backend::NdArray>(&device);
            check(&model.to_bytes()).expect("a saved network");
        }
    }

    #[test]
    fn bytes_that_do_not_fit_the_shape_or_type_are_refused() {
        assert!(tensor(24, &[2, 3], "F32").check().is_ok());
        assert!(tensor(48, &[2, 3], "F64").check().is_ok());
        for (bytes, shape, dtype) in [
            (5, &[1][..], "F64"),
            (24, &[2, 3], "F64"),
            (24, &[], "F32"),
            (24, &[1, 1, 1, 2, 3], "F32"),
            (8, &[i128::from(u64::MAX), 2], "F32"),
            (24, &[2, -3], "F32"),
            (24, &[2, 3], "I32"),
            (24, &[2, 3], "F33"),
        ] {
            let error = tensor(bytes, shape, dtype).check().unwrap_err();
            assert!(error.contains("tensor"), "{error}");
        }
    }

    #[test]
    fn parameter_ids_are_checked_as_burn_decodes_them() {
        let param = |id: Value| {
            Value::Map(vec![
                (Value::Text("id".into()), id),
                (Value::Text("param".into()), tensor(24, &[2, 3], "F32")),
            ])
        };
        let fresh = burn::module::ParamId::new().serialize();
        assert!(param(Value::Text(fresh)).check().is_ok());
        let uuid = "67e55044-10b1-426f-9247-bb680e5fe0c8";
        assert!(param(Value::Text(uuid.into())).check().is_ok());
        for id in ["not base32!", "aaaaaaaaaaaaaaaaaaaaaaaaaaaa", ""] {
            let error = param(Value::Text(id.into())).check();
            assert!(error.is_err() || id.is_empty(), "{id:?}");
        }
        assert!(param(Value::Int(3)).check().is_err());
    }

    #[test]
    fn tensors_by_index_or_as_arrays_and_incomplete_ones_are_found() {
        let by_index = Value::Map(vec![
            (Value::Int(0), Value::Bytes { len: 5, kept: None }),
            (Value::Int(1), Value::Seq(vec![Value::Int(1)])),
            (Value::Int(2), Value::Text("F64".into())),
        ]);
        assert!(by_index.check().is_err());
        let as_array = Value::Seq(vec![
            Value::Text("bytes".into()),
            Value::Bytes {
                len: 2,
                kept: Some(vec![2, 3]),
            },
            Value::Int(0),
        ]);
        assert!(Value::Map(vec![(Value::Int(7), as_array)]).check().is_err());
        // A 3-dimensional shape is a list, not a tensor.
        let shape = Value::Seq(vec![Value::Int(16), Value::Int(5), Value::Int(5)]);
        assert!(shape.check().is_ok());
        let incomplete = Value::Map(vec![(
            Value::Text("bytes".into()),
            Value::Bytes { len: 4, kept: None },
        )]);
        assert!(incomplete.check().is_err());
    }
}
