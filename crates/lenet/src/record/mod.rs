use std::io::Write;
use std::path::{Path, PathBuf};

use burn::{
    module::{ModuleVisitor, Param},
    nn::{Linear, conv::Conv2d},
    prelude::*,
    record::{FullPrecisionSettings, NamedMpkBytesRecorder, Record, Recorder},
};

mod tensors;

use crate::config::WIDTHS;
use crate::model::{C3Record, C5, C5Record, LeNet5, LeNet5Record, OutputRecord};
use crate::{C1Padding, LeNet5Config, LeNetError, Variant};

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
/// The network (variant and C1's padding) is read from the file; when `expected` is given and
/// the file holds another, the result is [`LeNetError::ConfigMismatch`]. A missing, truncated or corrupted
/// file, or one with parameters of the wrong shapes, is an error, never a panic.
pub fn load_file<B: Backend>(
    path: impl AsRef<Path>,
    expected: Option<&LeNet5Config>,
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
    expected: Option<&LeNet5Config>,
    device: &B::Device,
) -> Result<LeNet5<B>, LeNetError> {
    load(bytes.to_vec(), "<in-memory model>", expected, device)
}

fn load<B: Backend>(
    bytes: Vec<u8>,
    origin: &str,
    expected: Option<&LeNet5Config>,
    device: &B::Device,
) -> Result<LeNet5<B>, LeNetError> {
    let decode_error = |reason: String| LeNetError::Decode {
        origin: origin.to_string(),
        reason,
    };
    // Checked once, before Burn reads the file in either layout: a truncated or foreign file
    // (Burn's own message for it is about record formats of old Burn versions, which
    // misleads), and tensors or parameter ids that Burn's decoder would panic on.
    tensors::check(&bytes).map_err(decode_error)?;
    let record = match decode::<B, LeNet5Record<B>>(&bytes, device) {
        Ok(record) => record,
        Err(Failure::Panicked) => return Err(decode_error(BURN_PANICKED.into())),
        // Files written before the paper's network existed hold C3 and the output layer as
        // plain layers rather than as one of their kinds.
        Err(Failure::Format(error)) => match decode::<B, SavedRecord<B>>(&bytes, device) {
            Ok(record) => Saved::upgrade(record),
            Err(Failure::Panicked) => return Err(decode_error(BURN_PANICKED.into())),
            Err(Failure::Format(_)) => return Err(decode_error(error)),
        },
    };
    // The weights tell the network: C3 follows a connection table only in the paper's, C5 is
    // a convolution only in it and the classic one, and the Keras one's first dense layer sees
    // 16x5x5 values when C1 is padded, 16x4x4 when not.
    let found = match (&record.c3, &record.c5) {
        (C3Record::Table(_), _) => LeNet5Config::new().with_variant(Variant::LeCun1998),
        (_, C5Record::Conv(_)) => LeNet5Config::new().with_variant(Variant::Classic),
        (_, C5Record::Dense(dense)) => {
            let padded = LeNet5Config::new()
                .with_variant(Variant::Keras)
                .with_c1_padding(C1Padding::Same);
            let inputs = dense.weight.val().dims()[0];
            let c1_padding = if inputs == WIDTHS[1] * padded.s4_side().pow(2) {
                C1Padding::Same
            } else {
                C1Padding::Valid
            };
            padded.with_c1_padding(c1_padding)
        }
    };
    if let Some(expected) = expected.filter(|&expected| *expected != found) {
        return Err(LeNetError::ConfigMismatch {
            origin: origin.to_string(),
            expected: expected.clone(),
            found,
        });
    }

    let fresh = found.init::<B>(device);
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

/// Why a file's bytes did not become a record.
enum Failure {
    /// Not the record's layout (another network, another kind of file): Burn's message.
    Format(String),
    /// Burn's decoder panicked on it (caught).
    Panicked,
}

/// What a file Burn's decoder panicked on is said to be.
const BURN_PANICKED: &str = "Burn could not decode its tensors";

/// Decodes a record from bytes that passed [`tensors::check`], so that Burn's decoder, which
/// panics on tensors that do not fit their shape and type (fuzzing found such files), never
/// involves the panic hook, which belongs to the application. Should Burn still panic on
/// something the check does not know, the panic is caught on this thread as the last line of
/// defence.
fn decode<B: Backend, R: Record<B>>(bytes: &[u8], device: &B::Device) -> Result<R, Failure> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        Recorder::<B>::load(&WeightsRecorder::default(), bytes.to_vec(), device)
    }))
    .map_err(|_| Failure::Panicked)?
    .map_err(|error| Failure::Format(error.to_string()))
}

/// The layers of a network saved before the paper's variant was added: C3 always a full
/// convolution, the output always dense.
#[derive(Module, Debug)]
struct Saved<B: Backend> {
    c1: Conv2d<B>,
    c3: Conv2d<B>,
    c5: C5<B>,
    f6: Linear<B>,
    output: Linear<B>,
}

impl<B: Backend> Saved<B> {
    fn upgrade(record: SavedRecord<B>) -> LeNet5Record<B> {
        LeNet5Record {
            c1: record.c1,
            s2: None,
            c3: C3Record::Full(record.c3),
            s4: None,
            c5: record.c5,
            f6: record.f6,
            output: OutputRecord::Dense(record.output),
            variant: burn::module::EmptyRecord::new(),
        }
    }
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
        // `lazy_shape`: a fresh model's parameters are not drawn (initialised) just to be
        // replaced by the loaded ones.
        self.shapes
            .push((self.path.join("."), param.lazy_shape().to_vec()));
    }
}
