use std::io::Write;
use std::path::{Path, PathBuf};

use burn::{
    module::{ModuleVisitor, Param},
    prelude::*,
    record::{FullPrecisionSettings, NamedMpkBytesRecorder, Recorder},
};

use crate::{LeNet5Config, LeNetError, Variant, model::C5Record, model::LeNet5};

/// Full precision, so that a saved and reloaded network gives bit-identical logits.
type WeightsRecorder = NamedMpkBytesRecorder<FullPrecisionSettings>;

impl<B: Backend> LeNet5<B> {
    /// Serialises the weights as named MessagePack (full precision, about 250 KB).
    pub fn to_bytes(&self) -> Vec<u8> {
        Recorder::<B>::record(&WeightsRecorder::default(), self.clone().into_record(), ())
            .expect("MessagePack encoding of in-memory tensors cannot fail")
    }

    /// Saves the weights to `path` (conventionally `model.mpk`). The file is written under a
    /// temporary name and renamed into place, so an interrupted save never leaves a truncated
    /// file where a good one was.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), LeNetError> {
        let path = path.as_ref();
        let io_error = |source| LeNetError::Io {
            action: "write",
            path: path.to_path_buf(),
            source,
        };
        let mut file = atomic_write_file::AtomicWriteFile::open(path).map_err(io_error)?;
        file.write_all(&self.to_bytes()).map_err(io_error)?;
        file.commit().map_err(io_error)
    }
}

/// Loads a network saved by [`LeNet5::save`].
///
/// The variant is read from the file; when `expected` is given and the file holds the other
/// variant, the result is [`LeNetError::VariantMismatch`]. A missing, truncated or corrupted
/// file, or one with parameters of the wrong shapes, is an error, never a panic.
pub fn load_file<B: Backend>(
    path: impl AsRef<Path>,
    expected: Option<Variant>,
    device: &B::Device,
) -> Result<LeNet5<B>, LeNetError> {
    let path = path.as_ref();
    let bytes = std::fs::read(path).map_err(|source| match source.kind() {
        std::io::ErrorKind::NotFound => LeNetError::NotFound {
            path: PathBuf::from(path),
        },
        _ => LeNetError::Io {
            action: "read",
            path: PathBuf::from(path),
            source,
        },
    })?;
    load(bytes, &path.display().to_string(), expected, device)
}

/// Loads a network from the bytes of a file saved by [`LeNet5::save`] (or from
/// [`LeNet5::to_bytes`]), for weights embedded in a binary with `include_bytes!`.
pub fn load_bytes<B: Backend>(
    bytes: &[u8],
    expected: Option<Variant>,
    device: &B::Device,
) -> Result<LeNet5<B>, LeNetError> {
    load(bytes.to_vec(), "<in-memory model>", expected, device)
}

fn load<B: Backend>(
    bytes: Vec<u8>,
    origin: &str,
    expected: Option<Variant>,
    device: &B::Device,
) -> Result<LeNet5<B>, LeNetError> {
    // A truncated or foreign file is told apart first: Burn's own message for it is about
    // record formats of old Burn versions, which misleads. Its tensors are checked too: Burn
    // panics on one whose bytes disagree with its shape and type.
    if let Err(error) = rmp_serde::from_slice::<checked::Document>(&bytes) {
        return Err(LeNetError::Decode {
            origin: origin.to_string(),
            reason: format!("not a complete MessagePack file of tensors ({error})"),
        });
    }
    let record: <LeNet5<B> as Module<B>>::Record =
        Recorder::<B>::load(&WeightsRecorder::default(), bytes, device).map_err(|error| {
            LeNetError::Decode {
                origin: origin.to_string(),
                reason: error.to_string(),
            }
        })?;
    let found = match record.c5 {
        C5Record::Conv(_) => Variant::Classic,
        C5Record::Dense(_) => Variant::Keras,
    };
    if let Some(expected) = expected.filter(|&expected| expected != found) {
        return Err(LeNetError::VariantMismatch {
            origin: origin.to_string(),
            expected,
            found,
        });
    }

    let fresh = LeNet5Config::new().with_variant(found).init::<B>(device);
    let wanted = ParamShapes::of(&fresh);
    let loaded = fresh.load_record(record);
    // Burn replaces parameters without comparing shapes; a wrong shape would only surface as
    // a panic deep inside the first forward pass.
    for ((param, expected), (_, found)) in wanted.into_iter().zip(ParamShapes::of(&loaded)) {
        if expected != found {
            return Err(LeNetError::ParamShape {
                origin: origin.to_string(),
                variant: loaded.variant(),
                param,
                expected,
                found,
            });
        }
    }
    Ok(loaded)
}

/// Every float parameter's path and shape, in visiting order.
#[derive(Default)]
struct ParamShapes {
    path: Vec<String>,
    shapes: Vec<(String, Vec<usize>)>,
}

impl ParamShapes {
    fn of<B: Backend>(model: &LeNet5<B>) -> Vec<(String, Vec<usize>)> {
        let mut shapes = ParamShapes::default();
        model.visit(&mut shapes);
        shapes.shapes
    }
}

impl<B: Backend> ModuleVisitor<B> for ParamShapes {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        self.shapes
            .push((self.path.join("."), param.val().dims().to_vec()));
    }
}

/// A walk over any MessagePack document that checks every tensor in it: its type a float, and
/// exactly the bytes its shape needs. A tensor is read as serde reads Burn's `TensorData`: a
/// map with fields `bytes`, `shape` and `dtype` (named, or numbered 0, 1, 2) or an array of
/// the three; bytes as binary or as an array of integers, the type by name or by number.
mod checked {
    use std::fmt;

    use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

    /// Any value whose tensors, wherever they are, are consistent.
    pub struct Document;

    impl<'de> Deserialize<'de> for Document {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            Item::deserialize(deserializer).map(|_| Document)
        }
    }

    /// Shapes longer than this are not kept (nor are they a tensor's).
    const KEPT: usize = 16;

    /// What the check needs to know of a value.
    enum Item {
        Bytes(u64),
        Int(u64),
        Name(String),
        /// An array: its length, whether it holds only integers, and the first [`KEPT`].
        Seq {
            len: u64,
            ints: bool,
            head: Vec<u64>,
        },
        Other,
    }

    impl Item {
        /// The length of a tensor's bytes.
        fn byte_count(&self) -> Option<u64> {
            match self {
                Item::Bytes(n) => Some(*n),
                Item::Seq {
                    len, ints: true, ..
                } => Some(*len),
                _ => None,
            }
        }

        fn shape(&self) -> Option<&[u64]> {
            match self {
                Item::Seq {
                    len,
                    ints: true,
                    head,
                } if *len as usize == head.len() => Some(head),
                _ => None,
            }
        }

        /// The field a map key names, for `TensorData`'s three.
        fn field(&self) -> Option<usize> {
            match self {
                Item::Name(name) => ["bytes", "shape", "dtype"].iter().position(|f| f == name),
                Item::Int(n) => usize::try_from(*n).ok().filter(|&n| n < 3),
                _ => None,
            }
        }
    }

    /// Checks a tensor's three parts.
    fn check<E: de::Error>(bytes: &Item, shape: &Item, dtype: &Item) -> Result<(), E> {
        let (Some(bytes), Some(shape)) = (bytes.byte_count(), shape.shape()) else {
            return Ok(());
        };
        // DType's variants in order: F64, F32, Flex32, F16, BF16, then integers and others.
        let size = match dtype {
            Item::Name(name) if name == "F64" => 8,
            Item::Name(name) if name == "F32" => 4,
            Item::Name(name) if name == "F16" || name == "BF16" => 2,
            Item::Int(0) => 8,
            Item::Int(1) => 4,
            Item::Int(3 | 4) => 2,
            _ => return Err(E::custom("a tensor of a type other than float")),
        };
        let needed = shape.iter().try_fold(size, |n: u64, &d| n.checked_mul(d));
        if needed == Some(bytes) {
            Ok(())
        } else {
            Err(E::custom(format!(
                "a tensor of shape {shape:?} holds {bytes} bytes"
            )))
        }
    }

    impl<'de> Deserialize<'de> for Item {
        fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
            deserializer.deserialize_any(ItemVisitor)
        }
    }

    struct ItemVisitor;

    impl<'de> Visitor<'de> for ItemVisitor {
        type Value = Item;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a MessagePack value")
        }

        fn visit_bool<E>(self, _: bool) -> Result<Item, E> {
            Ok(Item::Other)
        }
        fn visit_i64<E>(self, v: i64) -> Result<Item, E> {
            Ok(u64::try_from(v).map_or(Item::Other, Item::Int))
        }
        fn visit_u64<E>(self, v: u64) -> Result<Item, E> {
            Ok(Item::Int(v))
        }
        fn visit_f64<E>(self, _: f64) -> Result<Item, E> {
            Ok(Item::Other)
        }
        fn visit_str<E>(self, v: &str) -> Result<Item, E> {
            Ok(Item::Name(v.to_owned()))
        }
        fn visit_bytes<E>(self, v: &[u8]) -> Result<Item, E> {
            Ok(Item::Bytes(v.len() as u64))
        }
        fn visit_unit<E>(self) -> Result<Item, E> {
            Ok(Item::Other)
        }
        fn visit_none<E>(self) -> Result<Item, E> {
            Ok(Item::Other)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Item, D::Error> {
            Item::deserialize(d)
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Item, A::Error> {
            let (mut len, mut ints, mut head) = (0u64, true, Vec::new());
            let mut first = Vec::new();
            while let Some(item) = seq.next_element::<Item>()? {
                len += 1;
                match item {
                    Item::Int(v) if head.len() < KEPT => head.push(v),
                    Item::Int(_) => {}
                    _ => ints = false,
                }
                if first.len() < 3 {
                    first.push(item);
                }
            }
            if let [bytes, shape, dtype] = first.as_slice()
                && len == 3
            {
                check(bytes, shape, dtype)?;
            }
            Ok(Item::Seq { len, ints, head })
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Item, A::Error> {
            let mut fields = [Item::Other, Item::Other, Item::Other];
            while let Some(key) = map.next_key::<Item>()? {
                let value = map.next_value::<Item>()?;
                if let Some(field) = key.field() {
                    fields[field] = value;
                }
            }
            let [bytes, shape, dtype] = &fields;
            check(bytes, shape, dtype)?;
            Ok(Item::Other)
        }
    }
}
